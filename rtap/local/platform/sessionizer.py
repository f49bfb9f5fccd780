"""The sessionizer process: the sessions query in a Spark process of its own, at low priority.

Sessionizing is stateful work in bursts of seconds every trigger. Inside the platform
process it competed with ingest for the same two cores, and freshness rose at every
sessions trigger. Here it runs at a high nice value, so it takes only CPU that ingest
leaves idle. It reads the events the ingest query stages, and hands each batch's closed
sessions to the platform through an outbox folder (workloads/streaming/outbox.py),
because only the platform process may open the chDB engine.

Run as `python -m rtap.local.platform.sessionizer`; rtap starts it with RTAP_SETTINGS_FILE
and RTAP_PROJECT_DIR set. It reports its state in a status file that rtap and the
platform read.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import structlog
from pyspark.sql import SparkSession

from core.handoff import handed_over
from core.logs import configure_logging
from core.settings import SettingsError
from rtap.local.paths import RunPaths
from rtap.local.prerequisites import jars
from rtap.local.priority import lower_own_priority
from rtap.local.status_file import StatusFile
from workloads.settings import WorkloadSettings
from workloads.streaming.job import CHECKPOINT_NAMES, StreamingJob
from workloads.streaming.metrics import PipelineMetrics
from workloads.streaming.outbox import SessionOutbox
from workloads.streaming.spark_session import JobEnvironment, create_spark_session, warm_up

log = structlog.get_logger(__name__)


def start_sessions_job(
    settings: WorkloadSettings, paths: RunPaths, status: StatusFile
) -> tuple[StreamingJob, SparkSession]:
    """Spark, warmed up, and the sessions query started."""
    env = JobEnvironment(
        bootstrap=f"127.0.0.1:{settings.local.kafka_port}",
        topic=settings.kafka.events_topic,
        checkpoint_root=str(paths.checkpoints),
        session_input=str(paths.session_input),
        connector_jars=(*jars(paths.validator_jars, "Event validator"),),
        log_config=paths.jvm_config / "spark-log4j2.properties",
        log_file=paths.logs / "spark-sessions.log",
        scheduler_pools=paths.jvm_config / "fairscheduler.xml",
    )
    # The file source needs its folder before the query starts; ingest fills it.
    paths.session_input.mkdir(parents=True, exist_ok=True)
    spark = create_spark_session(settings.streaming, env)
    status.write("starting", "warming up Spark")
    seconds = warm_up(spark, settings.events, settings.streaming, ("sessions",))
    log.info("spark warmed up", seconds=seconds)
    outbox = SessionOutbox(paths.session_output, CHECKPOINT_NAMES["sessions"])
    job = StreamingJob(
        spark,
        settings=settings.streaming,
        limits=settings.events,
        env=env,
        writers={"sessions": outbox.write},
        metrics=PipelineMetrics(),
    )
    status.write("starting", "starting the sessions query")
    job.start()
    return job, spark


def main() -> None:
    configure_logging()
    try:
        settings = handed_over(WorkloadSettings)
    except SettingsError as error:
        log.error("cannot start the sessionizer", error=str(error))
        raise SystemExit(2) from None
    paths = RunPaths.of(settings, Path(os.environ["RTAP_PROJECT_DIR"]))
    # First, so that the JVM and every thread it starts inherit the priority.
    lower_own_priority(settings.local.sessions_niceness)
    status = StatusFile(paths.sessionizer_status)
    status.write("starting", "starting Spark")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        job, spark = start_sessions_job(settings, paths, status)
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        status.write("failed", detail)
        log.error("sessionizer process failed to start", error=detail)
        raise SystemExit(1) from error
    try:
        while not stop.wait(1.0):
            job.supervise()
            status.write("running", "streaming", queries=job.status())
    finally:
        job.stop()
        spark.stop()
        status.write("stopped", "stopped")


if __name__ == "__main__":
    main()
