"""The platform process: owns the chDB engine, hosts the ingest query's driver and the API.

chDB allows one engine per process, so everything that touches ClickHouse locally runs
here: the ingest query's sink (foreachBatch runs in this driver process), the loader of
the sessions the sessionizer process hands over, the serving API, and the control
endpoints that report and check what is stored. Run as `python -m
rtap.local.platform.process`; rtap starts it with RTAP_SETTINGS_FILE (the settings it
validated) and RTAP_PROJECT_DIR set.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import redis
import structlog
import uvicorn
from pyspark.sql import SparkSession

from core.handoff import handed_over
from core.logs import configure_logging
from core.settings import SettingsError
from core.stack_config import find_project_dir
from rtap.local.paths import RunPaths
from rtap.local.platform.clickhouse_metrics import ClickHouseCollector
from rtap.local.platform.control import control_router
from rtap.local.prerequisites import jars
from rtap.local.priority import lower_threads_priority
from rtap.local.secrets import LocalSecrets
from rtap.local.status_file import StatusFile
from workloads.producer.ground_truth import GroundTruthSummary, RollupCell
from workloads.serving.app import create_app
from workloads.serving.bootstrap import build_context
from workloads.serving.dependencies import ServingContext
from workloads.settings import WorkloadSettings
from workloads.storage.client import connect, connect_many
from workloads.storage.data_version import DataVersion
from workloads.storage.migrate import MigrationRunner
from workloads.storage.sizes import table_sizes
from workloads.storage.verification import count_events, rollup_snapshot, verify_run
from workloads.streaming.assembly import (
    Storage,
    ingest_writer,
    sessions_writer,
    start_dead_letters,
)
from workloads.streaming.dead_letters import DeadLetterWriter
from workloads.streaming.exporter import LogEndPoller, PipelineCollector
from workloads.streaming.job import BatchWriter, StreamingJob
from workloads.streaming.metrics import PipelineMetrics
from workloads.streaming.outbox import SessionOutboxLoader
from workloads.streaming.spark_session import JobEnvironment, create_spark_session, warm_up

log = structlog.get_logger(__name__)

# ClickHouse names its merge and mutation threads so (`comm`).
_MERGE_THREAD_NAME = "MergeMutate"
_MERGE_PRIORITY_EVERY_S = 10


class Platform:
    """Start-up, supervision and shutdown of the pipeline inside this process."""

    def __init__(self, settings: WorkloadSettings, paths: RunPaths, secrets: LocalSecrets) -> None:
        self.settings = settings
        self.paths = paths
        self.metrics = PipelineMetrics.for_freshness_target(settings.sla.freshness_p95_seconds)
        self._log_end: LogEndPoller | None = None
        self.state = "starting"
        self.detail = "initialising"
        self.error: str | None = None
        self._redis_url = secrets.redis_url(settings.local.redis_port)
        self._client: Any = None
        self._job: StreamingJob | None = None
        self._sessions_loader: SessionOutboxLoader | None = None
        self._sessionizer_status = StatusFile(paths.sessionizer_status)
        self._dead_letters: DeadLetterWriter | None = None
        self._spark: SparkSession | None = None
        self._stopping = threading.Event()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.local.kafka_port}"

    def open_storage(self) -> ServingContext:
        """Open chDB and apply migrations (both quick); returns what the API serves from."""
        self._client = connect(self.settings.clickhouse, self.paths.clickhouse_data)
        applied = MigrationRunner(self._client, self.settings.clickhouse).apply()
        log.info("schema ready", applied=applied)
        # The API reads through handles of its own, so the sink's inserts never wait for a
        # handle the API's queries hold, nor the queries for the sink's.
        readers = connect_many(
            self.settings.clickhouse,
            self.paths.clickhouse_data,
            self.settings.serving.clickhouse_connections,
        )
        context = build_context(
            clickhouse_clients=readers,
            database=self.settings.clickhouse.database,
            redis_url=self._redis_url,
            settings=self.settings.serving,
            environment=self.settings.environment,
            keys_file=self.paths.api_keys,
            jwt_secret=os.environ.get("RTAP_JWT_SECRET"),
        )
        # The API's /metrics serves the pipeline's series too, as the driver does in a
        # cluster, and the embedded ClickHouse's, as a server's own endpoint would.
        context.metrics.registry.register(ClickHouseCollector(self._client))
        context.metrics.registry.register(
            PipelineCollector(
                self.metrics,
                self.settings.kafka.events_topic,
                self._processed_offsets,
                lambda: self._log_end.latest() if self._log_end else {},
            )
        )
        return context

    def _processed_offsets(self) -> dict[int, int]:
        return self._job.end_offsets("ingest") if self._job is not None else {}

    def start_streaming(self) -> None:
        """Dead-letter writer, Spark, the ingest query and the sessions loader; sets `state`.

        The sessions query runs in the sessionizer process; this one stores what it hands over.
        """
        self._step("starting the dead-letter writer")
        self._dead_letters = start_dead_letters(self.bootstrap, self.settings.kafka)
        self._step("starting Spark")
        env = JobEnvironment(
            bootstrap=self.bootstrap,
            topic=self.settings.kafka.events_topic,
            checkpoint_root=str(self.paths.checkpoints),
            session_input=str(self.paths.session_input),
            connector_jars=(
                *jars(self.paths.spark_jars, "Spark Kafka connector"),
                *jars(self.paths.validator_jars, "Event validator"),
            ),
            log_config=self.paths.jvm_config / "spark-log4j2.properties",
            log_file=self.paths.logs / "spark.log",
            scheduler_pools=self.paths.jvm_config / "fairscheduler.xml",
        )
        spark = self._spark = create_spark_session(self.settings.streaming, env)
        self._step("warming up Spark")
        seconds = warm_up(spark, self.settings.events, self.settings.streaming, ("ingest",))
        log.info("spark warmed up", seconds=seconds)
        storage = Storage(
            self._client,
            self.settings.clickhouse.database,
            DataVersion(redis.Redis.from_url(self._redis_url, socket_timeout=0.5)),
        )
        self._sessions_loader = SessionOutboxLoader(
            self.paths.session_output, sessions_writer(storage, self.metrics)
        )
        self._sessions_loader.start()
        self._job = StreamingJob(
            spark,
            settings=self.settings.streaming,
            limits=self.settings.events,
            env=env,
            writers={"ingest": self._ingest_writer(storage, env)},
            metrics=self.metrics,
        )
        self._step("starting the ingest query")
        self._job.start()
        self._log_end = LogEndPoller(self.bootstrap, self.settings.kafka.events_topic).start()
        self.state, self.detail = "running", "streaming"
        log.info("platform running")

    def _ingest_writer(self, storage: Storage, env: JobEnvironment) -> BatchWriter:
        if self._dead_letters is None:
            raise RuntimeError("the dead-letter writer starts before the job")
        return ingest_writer(storage, self._dead_letters, env.session_input, self.metrics)

    def supervise(self) -> None:
        ticks = 0
        while not self._stopping.wait(1.0):
            if self._job is not None:
                self._job.supervise()
            if ticks % _MERGE_PRIORITY_EVERY_S == 0:
                self._lower_merge_priority()
            ticks += 1

    def _lower_merge_priority(self) -> None:
        # Merges come in bursts of a core for a second or two; at normal priority each
        # burst delayed the ingest batches behind it (docs/architecture.md). The engine
        # may start merge threads at any time, so this looks again now and then.
        niceness = self.settings.local.clickhouse_merge_niceness
        changed = lower_threads_priority(_MERGE_THREAD_NAME, niceness)
        if changed:
            log.info("lowered merge threads' priority", threads=changed, niceness=niceness)

    def stop(self) -> None:
        self._stopping.set()
        if self._job is not None:
            self._job.stop()
        if self._sessions_loader is not None:
            self._sessions_loader.stop()
        if self._log_end is not None:
            self._log_end.stop()
        if self._dead_letters is not None:
            self._dead_letters.close()
        if self._spark is not None:
            self._spark.stop()

    def fail(self, error: BaseException) -> None:
        self.state, self.error = "failed", f"{type(error).__name__}: {error}"
        log.error("platform failed", step=self.detail, error=self.error)

    def stats(self, timeline_since: float | None) -> dict[str, Any]:
        snapshot = self.metrics.snapshot(timeline_since)
        snapshot["queries"] = {**(self._job.status() if self._job else {}), **self._sessions()}
        snapshot["state"] = self.state
        if self._client is not None:
            snapshot["clickhouse_rows"] = count_events(
                self._client, self.settings.clickhouse.database
            )
        return snapshot

    def _sessions(self) -> dict[str, Any]:
        """The sessions query as its process last reported it."""
        status = self._sessionizer_status.read()
        if status is not None and status["state"] == "running":
            return dict(status["queries"])
        error = (
            "the sessionizer process is not running"
            if status is None
            else f"{status['state']}: {status['detail']}"
        )
        return {
            "sessions": {"active": False, "restarts": 0, "last_error": error, "end_offsets": {}}
        }

    def rollups(self, from_minute: int) -> list[list[Any]]:
        cells = rollup_snapshot(self._client, self.settings.clickhouse.database, from_minute)
        return [[t, m, c.events, c.value_sum] for (t, m), c in sorted(cells.items())]

    def storage_sizes(self) -> list[dict[str, Any]]:
        tables = table_sizes(self._client, self.settings.clickhouse.database)
        return [table.to_dict() for table in tables]

    def check_storage(
        self,
        ground_truth_dir: Path,
        start_offsets: dict[int, int],
        baseline: list[list[Any]],
        baseline_from_minute: int,
    ) -> dict[str, Any]:
        truth = GroundTruthSummary.load(ground_truth_dir)
        cells = {(str(t), int(m)): RollupCell(int(n), float(s)) for t, m, n, s in baseline}
        verdict = verify_run(
            self._client,
            database=self.settings.clickhouse.database,
            truth=truth,
            start_offsets=start_offsets,
            baseline=cells,
            baseline_from_minute=baseline_from_minute,
        )
        return verdict.to_dict()

    def _step(self, detail: str) -> None:
        self.detail = detail
        log.info("starting", step=detail)


def main() -> None:
    configure_logging()
    project_dir = find_project_dir()
    try:
        settings = handed_over(WorkloadSettings)
    except SettingsError as error:
        log.error("cannot start the platform", error=str(error))
        raise SystemExit(2) from None
    paths = RunPaths.of(settings, project_dir)
    secrets = LocalSecrets.load_or_create(paths.secrets_file)
    platform = Platform(settings, paths, secrets)
    serving = platform.open_storage()
    app = create_app(serving, [control_router(platform, serving, secrets.control_token)])
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.local.platform_port,
            log_config=None,
            access_log=False,
        )
    )

    def start_then_supervise() -> None:
        try:
            platform.start_streaming()
        except Exception as error:  # noqa: BLE001 - reported through /internal/health, then exit
            platform.fail(error)
            time.sleep(2.0)  # let the CLI read the failure before the server goes away
            server.should_exit = True
            return
        platform.supervise()

    threading.Thread(target=start_then_supervise, name="platform-start", daemon=True).start()
    try:
        server.run()
    finally:
        platform.stop()
    raise SystemExit(1 if platform.state == "failed" else 0)


if __name__ == "__main__":
    main()
