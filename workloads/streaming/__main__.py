"""The streaming job as a SparkApplication's driver runs it (`mainApplicationFile`).

spark-submit has set up the session (master, jars, memory, S3 access). This reads the
stack settings from $RTAP_SETTINGS_FILE, endpoints and credentials from the environment
(workloads/cluster_env.py) and the checkpoint location from $RTAP_CHECKPOINT_URI
(s3a://…), then runs both queries until SIGTERM, restarting a failed query with backoff.
The Spark operator restarts the driver itself if it dies; it resumes from the
checkpoints, and the idempotent sinks make the replay harmless.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

import clickhouse_connect
import structlog
from prometheus_client import CollectorRegistry, start_http_server
from py4j.protocol import Py4JError

from core.logs import configure_logging
from core.settings import SettingsError
from workloads.cluster_env import (
    MissingVariableError,
    kafka_security,
    mounted_settings,
    redis_url,
    required,
    spark_kafka_options,
)
from workloads.redis_client import connect_redis
from workloads.settings import WorkloadSettings
from workloads.storage.data_version import DataVersion
from workloads.streaming.assembly import (
    Storage,
    ingest_writer,
    sessions_writer,
    start_dead_letters,
)
from workloads.streaming.exporter import DRIVER_METRICS_PORT, LogEndPoller, PipelineCollector
from workloads.streaming.job import QUERIES, StreamingJob
from workloads.streaming.lag_scaler import LagScaler, SparkExecutors
from workloads.streaming.metrics import PipelineMetrics
from workloads.streaming.scaling import ScalingBounds
from workloads.streaming.spark_session import JobEnvironment, attach_cluster_session, child, warm_up

log = structlog.get_logger(__name__)


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        settings = mounted_settings(environ)
        root = required(environ, "RTAP_CHECKPOINT_URI")
        env = JobEnvironment(
            bootstrap=required(environ, "KAFKA_BOOTSTRAP"),
            topic=settings.kafka.events_topic,
            checkpoint_root=child(root, "checkpoints"),
            session_input=child(root, "session-input"),
            kafka_options=spark_kafka_options(environ),
        )
        clickhouse: Any = clickhouse_connect.get_client(
            dsn=required(environ, "CLICKHOUSE_DSN"),
            password=environ.get("CLICKHOUSE_PASSWORD", ""),
        )
        versions = redis_url(environ)
        security = kafka_security(environ)
    except (MissingVariableError, SettingsError) as exc:
        log.error("cannot start the streaming job", error=str(exc))
        return 2
    if versions is None:
        log.error("cannot start the streaming job", error="REDIS_SENTINELS is not set")
        return 2
    dead_letters = start_dead_letters(env.bootstrap, settings.kafka, security)
    spark = attach_cluster_session(settings.streaming, int(environ.get("EXECUTOR_CORES", "2")))
    seconds = warm_up(spark, settings.events, settings.streaming, QUERIES)
    log.info("spark warmed up", seconds=seconds)
    version = DataVersion(connect_redis(versions, socket_timeout=0.5))
    storage = Storage(clickhouse, settings.clickhouse.database, version)
    metrics = PipelineMetrics.for_freshness_target(settings.sla.freshness_p95_seconds)
    # Executors have cores of their own here, so both queries share one application.
    job = StreamingJob(
        spark,
        settings=settings.streaming,
        limits=settings.events,
        env=env,
        writers={
            "ingest": ingest_writer(storage, dead_letters, env.session_input, metrics),
            "sessions": sessions_writer(storage, metrics),
        },
        metrics=metrics,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    job.start()
    log_end = LogEndPoller(env.bootstrap, env.topic, security).start()
    serve_metrics(metrics, env.topic, job, log_end)
    scaler = lag_scaler(environ, settings, spark=spark, job=job, log_end=log_end, metrics=metrics)
    log.info("streaming job running", checkpoints=env.checkpoint_root, scaling=bool(scaler))
    while not stop.wait(1.0):
        job.supervise()
        if scaler is not None:
            scale(scaler)
    job.stop()
    log_end.stop()
    dead_letters.close()
    return 0


def lag_scaler(
    environ: Mapping[str, str],
    settings: WorkloadSettings,
    *,
    spark: Any,
    job: StreamingJob,
    log_end: LogEndPoller,
    metrics: PipelineMetrics,
) -> LagScaler | None:
    """The executor scaler within the SparkApplication's bounds; None when they are equal
    (or not given), so that the executor count stays what the stack says."""
    low = int(environ.get("RTAP_EXECUTORS_MIN", "0"))
    high = int(environ.get("RTAP_EXECUTORS_MAX", "0"))
    if high <= low or low < 1:
        return None
    bounds = ScalingBounds(
        min_executors=low,
        max_executors=high,
        partitions=settings.kafka.partitions,
        cores_per_executor=int(environ.get("EXECUTOR_CORES", "2")),
        freshness_budget_s=settings.sla.freshness_p95_seconds,
    )
    return LagScaler(
        SparkExecutors(spark),
        bounds,
        processed=lambda: job.end_offsets("ingest"),
        log_end=log_end.latest,
        recent_batches=metrics.batches_since,
        trigger_interval_s=settings.streaming.trigger_interval_ms / 1000,
    )


def scale(scaler: LagScaler) -> None:
    """One scaling step; a failed call to the scheduler backend is logged, not fatal."""
    try:
        scaler.maybe_tick()
    except Py4JError as exc:
        log.warning("cannot change the executor count", error=str(exc))


def serve_metrics(
    metrics: PipelineMetrics, topic: str, job: StreamingJob, log_end: LogEndPoller
) -> None:
    """The driver's /metrics on DRIVER_METRICS_PORT, which the `streaming` PodMonitor scrapes."""
    registry = CollectorRegistry()
    registry.register(
        PipelineCollector(
            metrics,
            topic,
            lambda: job.end_offsets("ingest"),
            log_end.latest,
        )
    )
    start_http_server(DRIVER_METRICS_PORT, registry=registry)


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
