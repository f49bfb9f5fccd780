"""A deployed stack as a load test's target: its endpoints from the stack's outputs
(`pulumi stack output`), the API key it exported, and Kafka settings the user supplies
(the brokers are inside the cluster; from outside, ingest needs a route and credentials).

To load a production stack, run the suite inside the cluster instead
(`rtap:loadtest.enabled`): one laptop cannot.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from loadtests.errors import BenchmarkError
from loadtests.loadtest_run import LoadTarget

# The outputs infra/__main__.py exports that a load test reads.
REQUIRED_OUTPUTS = ("apiHost", "apiKey")


def stack_outputs(stack: str, project_dir: Path) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` of the stack (the API key is a secret)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise BenchmarkError(
            "a deployed stack's endpoints come from `pulumi stack output`, and the pulumi CLI "
            "is not installed: see https://www.pulumi.com/docs/install/"
        )
    completed = subprocess.run(
        [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
        capture_output=True,
        text=True,
        cwd=project_dir,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(
            f"`pulumi stack output --stack {stack}` failed: {completed.stderr.strip()}; "
            "deploy the stack first (`pulumi up`), or log in to its backend"
        )
    outputs: dict[str, Any] = orjson.loads(completed.stdout)
    return outputs


def deployed_target(
    stack: str, outputs: Mapping[str, Any], kafka_config: dict[str, Any] | None
) -> LoadTarget:
    """The target a deployed stack's outputs describe; a missing output is named."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise BenchmarkError(
            f"stack {stack} has no output {', '.join(missing)}: deploy it with this "
            "version of the program (`pulumi up`) first"
        )
    if kafka_config is not None and "bootstrap.servers" not in kafka_config:
        kafka_config = {"bootstrap.servers": outputs.get("kafkaBootstrap", ""), **kafka_config}
    return LoadTarget(
        description=f"stack {stack} (deployed)",
        api_url=f"https://{outputs['apiHost']}",
        api_keys=[str(outputs["apiKey"])],
        kafka_config=kafka_config,
    )
