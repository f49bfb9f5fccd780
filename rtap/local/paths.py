"""Where the local platform keeps its state, logs and pid files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workloads.settings import WorkloadSettings


@dataclass(frozen=True)
class RunPaths:
    """Layout of a run directory (default `.rtap/run`), created on demand."""

    root: Path
    project_dir: Path

    @classmethod
    def of(cls, settings: WorkloadSettings, project_dir: Path) -> RunPaths:
        root = Path(settings.local.run_dir)
        if not root.is_absolute():
            root = project_dir / root
        return cls(root=root.resolve(), project_dir=project_dir)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def kafka_data(self) -> Path:
        return self.root / "kafka"

    @property
    def redis_data(self) -> Path:
        return self.root / "redis"

    @property
    def clickhouse_data(self) -> Path:
        return self.root / "clickhouse"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def session_input(self) -> Path:
        """Valid events staged by the ingest query for the sessions query (Parquet)."""
        return self.root / "staging" / "session-input"

    @property
    def session_output(self) -> Path:
        """Closed sessions, one Arrow file per batch, waiting for the platform to store."""
        return self.root / "staging" / "session-output"

    @property
    def sessionizer_status(self) -> Path:
        """What the sessionizer process last reported about itself (JSON, rewritten each second)."""
        return self.root / "staging" / "sessions-status.json"

    @property
    def supervisor_status(self) -> Path:
        """What the supervisor of a running `rtap up` last saw (JSON, rewritten each second)."""
        return self.root / "supervisor-status.json"

    @property
    def runs(self) -> Path:
        """Ground truth and summaries of producing runs, one folder per run."""
        return self.root / "runs"

    @property
    def api_keys(self) -> Path:
        """API keys, stored hashed with their scopes (0600)."""
        return self.root / "api-keys.json"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def kafka_jars(self) -> Path:
        return self.project_dir / ".rtap" / "jars" / "kafka"

    @property
    def spark_jars(self) -> Path:
        return self.project_dir / ".rtap" / "jars" / "spark"

    @property
    def validator_jars(self) -> Path:
        """The event validator, compiled from jvm/validator by `make setup`."""
        return self.project_dir / ".rtap" / "jars" / "validator"

    @property
    def jvm_config(self) -> Path:
        return self.project_dir / "jvm"

    def ensure(self) -> None:
        for folder in (self.logs, self.pids, self.kafka_data, self.redis_data, self.runs):
            folder.mkdir(parents=True, exist_ok=True)
