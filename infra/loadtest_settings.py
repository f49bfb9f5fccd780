"""rtap:loadtest: a Locust master and workers in the stack's namespace that run the
suites of loadtests/ in Locust's distributed mode against the stack's own API and
brokers. One laptop cannot load a production stack; pods next to it can.

Off by default. Its figures mean what `rtap loadtest`'s options mean (docs/loadtests.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from core.settings import SettingsModel
from infra.sizes import Resources

# Job names carry the run: `rtap-loadtest-<run>-master` must stay a DNS label.
RUN_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$"


class LoadTestDeploymentSettings(SettingsModel):
    enabled: bool
    # A new value starts a new run: Jobs run once, and a finished one stays for its logs.
    run: str = Field(pattern=RUN_PATTERN)
    workers: int = Field(ge=1, le=200)
    shape: Literal["open", "ramp", "spike", "soak"]
    duration_seconds: int = Field(ge=10, le=86_400)
    warmup_seconds: int = Field(ge=0, le=3_600)
    # Requests a second of the open model, all workers together; 0 is 1.1 times
    # sla.minRequestsPerSecond, so that the run shows the floor is held with room.
    rate: float = Field(ge=0, le=1_000_000)
    # Closed-model viewers of the ramp, spike and soak shapes.
    viewers: int = Field(ge=1, le=1_000_000)
    # Events a second the workers produce while they load the API; 0 tests the API alone.
    ingest_rate: float = Field(ge=0, le=10_000_000)
    master: Resources
    worker: Resources

    @model_validator(mode="after")
    def _viewers_per_worker(self) -> LoadTestDeploymentSettings:
        if self.shape != "open" and self.viewers < self.workers:
            raise ValueError("viewers is below workers: some workers would run no one")
        return self
