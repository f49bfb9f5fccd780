"""Where the streaming job runs and its Spark session: local mode inside the platform
process, or the driver a SparkApplication starts in a cluster."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from workloads.events.model import EventLimits
from workloads.producer.generator import TrafficGenerator
from workloads.producer.settings import ProducerSettings
from workloads.streaming.settings import StreamingSettings
from workloads.streaming.transforms import parse_events, user_sessions, valid_events

_WARM_UP_ROWS = 5_000
KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
)


def is_local(location: str) -> bool:
    """A plain path (or file:// URI) rather than an object store such as s3a://."""
    return "://" not in location or location.startswith("file://")


def child(location: str, name: str) -> str:
    return f"{location.rstrip('/')}/{name}"


@dataclass(frozen=True)
class JobEnvironment:
    """Where the job runs: broker, checkpoints, connector jars and log destination.

    `checkpoint_root` and `session_input` are local paths, or URIs (s3a://…) in a
    cluster, where executors and a restarted driver must reach them too.
    """

    bootstrap: str
    topic: str
    checkpoint_root: str
    # Where the ingest query stages valid events for the sessions query (Parquet files).
    session_input: str
    connector_jars: tuple[Path, ...] = ()
    log_config: Path | None = None
    log_file: Path | None = None
    # FAIR scheduler pools named after the queries (jvm/fairscheduler.xml).
    scheduler_pools: Path | None = None
    # Options for the Kafka source beyond the bootstrap servers (SASL, TLS), each
    # already prefixed with "kafka.".
    kafka_options: Mapping[str, str] = field(default_factory=dict)


def _streaming_conf(settings: StreamingSettings, cores: int) -> dict[str, str]:
    """Session settings the job relies on wherever it runs."""
    conf = {
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions or cores),
        "spark.sql.session.timeZone": "UTC",
        # FAIR lets the sessions query's batches interleave with ingest instead of queueing.
        "spark.scheduler.mode": "FAIR",
        # Progress is polled every second (StreamingJob.supervise); a short history keeps
        # each poll cheap.
        "spark.sql.streaming.numRecentProgressUpdates": "20",
    }
    if settings.state_store == "rocksdb":
        conf["spark.sql.streaming.stateStore.providerClass"] = (
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
        )
        conf["spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"] = "true"
    return conf


def create_spark_session(settings: StreamingSettings, env: JobEnvironment) -> SparkSession:
    """Local mode on this machine's cores (the embedded platform)."""
    cores = os.cpu_count() or 2
    # query.stop() once overflowed the default stack of the stream thread.
    java_options = ["-Xss8m"]
    if env.log_config is not None and env.log_file is not None:
        java_options += [
            f"-Dlog4j2.configurationFile=file:{env.log_config}",
            f"-Drtap.log.file={env.log_file}",
        ]
    # Two task slots per core. Measured while both queries shared this JVM: with one
    # slot per core, ingest tasks queued behind sessions tasks of several seconds (at
    # 50k events/s p95 3.77 -> 2.62 s with two). Locally each query now has a process of
    # its own; the spare slots still let an ingest batch's four partition tasks run at
    # once. Not measured again since the split.
    builder = (
        SparkSession.builder.master(f"local[{cores * 2}]")
        .appName("rtap-streaming")
        .config("spark.jars", ",".join(str(jar) for jar in env.connector_jars))
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.driver.extraJavaOptions", " ".join(java_options))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    for key, value in _streaming_conf(settings, cores).items():
        builder = builder.config(key, value)
    if env.scheduler_pools is not None:
        builder = builder.config("spark.scheduler.allocation.file", f"file:{env.scheduler_pools}")
    return builder.getOrCreate()


def attach_cluster_session(settings: StreamingSettings, executor_cores: int) -> SparkSession:
    """The session spark-submit set up for a SparkApplication's driver: master, jars,
    memory and S3 access come from the application; the job's own settings go on top."""
    builder = SparkSession.builder.appName("rtap-streaming")
    for key, value in _streaming_conf(settings, executor_cores).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def warm_up(
    spark: SparkSession,
    limits: EventLimits,
    settings: StreamingSettings,
    queries: Collection[str],
) -> float:
    """Run the named queries' transforms once over synthetic records; returns the seconds.

    The first micro-batch of a fresh JVM otherwise pays for class loading, JIT and code
    generation (measured: ~10 s against ~1 s warm), which would show as a freshness spike
    at every start and every restart after a crash.
    """
    started = time.perf_counter()
    generator = TrafficGenerator(ProducerSettings(seed=0, malformed_share=0.05), limits)
    now = time.time()
    stamp = datetime.fromtimestamp(now, UTC)
    batch = generator.next_batch(now, _WARM_UP_ROWS)
    rows = [
        (key, value, "warm-up", index % 4, index, stamp)
        for index, (key, value) in enumerate(zip(batch.keys, batch.values, strict=True))
    ]
    frame = spark.createDataFrame(rows, KAFKA_SCHEMA)
    if "ingest" in queries:
        parse_events(frame, limits).toArrow()
    if "sessions" in queries:
        sessions = user_sessions(
            valid_events(parse_events(frame, limits)),
            settings.watermark_delay_seconds,
            settings.session_gap_seconds,
        )
        sessions.toArrow()
    return time.perf_counter() - started
