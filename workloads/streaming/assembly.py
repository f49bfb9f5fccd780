"""The streaming job put together from its parts, the same way wherever it runs (the
local platform process, or a SparkApplication's driver)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from workloads.events.model import EventLimits
from workloads.kafka import KafkaSettings, dead_letter_transactional_id
from workloads.storage.data_version import DataVersion
from workloads.storage.sink import ClickHouseSink
from workloads.streaming.batches import IngestBatchWriter, SessionBatchWriter, SessionInputStager
from workloads.streaming.dead_letters import DeadLetterWriter
from workloads.streaming.faults import CrashPoints
from workloads.streaming.job import StreamingJob
from workloads.streaming.metrics import PipelineMetrics
from workloads.streaming.session import JobEnvironment
from workloads.streaming.settings import StreamingSettings


def start_dead_letters(
    bootstrap: str, kafka: KafkaSettings, extra_config: dict[str, Any] | None = None
) -> DeadLetterWriter:
    """The transactional dead-letter writer, started."""
    writer = DeadLetterWriter(
        bootstrap,
        kafka.dead_letter_topic,
        kafka.dead_letter_progress_topic,
        transactional_id=dead_letter_transactional_id(kafka.events_topic),
        extra_config=extra_config,
    )
    writer.start()
    return writer


def build_streaming_job(
    spark: SparkSession,
    *,
    settings: StreamingSettings,
    limits: EventLimits,
    env: JobEnvironment,
    clickhouse: Any,
    database: str,
    dead_letters: DeadLetterWriter,
    version: DataVersion,
    metrics: PipelineMetrics,
) -> StreamingJob:
    sink = ClickHouseSink(clickhouse, database)
    # Each committed batch bumps the data version, so cached API answers move on.
    return StreamingJob(
        spark,
        settings=settings,
        limits=limits,
        env=env,
        ingest=IngestBatchWriter(
            sink,
            dead_letters,
            SessionInputStager(env.session_input),
            metrics,
            crash_points=CrashPoints.from_environment(),
            on_stored=version.bump,
        ).write,
        sessions=SessionBatchWriter(sink, metrics, on_stored=version.bump).write,
        metrics=metrics,
    )
