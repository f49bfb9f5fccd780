"""The streaming job's writers put together from their parts, the same way wherever the
job runs (the local platform and sessionizer processes, or a SparkApplication's driver)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workloads.kafka import KafkaSettings
from workloads.kafka_uses import DeadLetterNames
from workloads.storage.data_version import DataVersion
from workloads.storage.sink import ClickHouseSink
from workloads.streaming.batches import IngestBatchWriter, SessionBatchWriter, SessionInputStager
from workloads.streaming.dead_letters import DeadLetterWriter
from workloads.streaming.faults import CrashPoints
from workloads.streaming.job import BatchWriter
from workloads.streaming.metrics import PipelineMetrics


def start_dead_letters(
    bootstrap: str, kafka: KafkaSettings, extra_config: dict[str, Any] | None = None
) -> DeadLetterWriter:
    """The transactional dead-letter writer, started, under the names the cluster's ACLs
    are generated from."""
    names = DeadLetterNames.of(kafka)
    writer = DeadLetterWriter(
        bootstrap,
        names.topic,
        names.progress_topic,
        transactional_id=names.transactional_id,
        extra_config=extra_config,
    )
    writer.start()
    return writer


@dataclass(frozen=True)
class Storage:
    """Where committed batches go: ClickHouse, and the data version cached answers follow."""

    clickhouse: Any
    database: str
    version: DataVersion

    def sink(self) -> ClickHouseSink:
        return ClickHouseSink(self.clickhouse, self.database)


def ingest_writer(
    storage: Storage,
    dead_letters: DeadLetterWriter,
    session_input: str,
    metrics: PipelineMetrics,
) -> BatchWriter:
    # Each committed batch bumps the data version, so cached API answers move on.
    return IngestBatchWriter(
        storage.sink(),
        dead_letters,
        SessionInputStager(session_input),
        metrics,
        crash_points=CrashPoints.from_environment(),
        on_stored=storage.version.bump,
    ).write


def sessions_writer(storage: Storage, metrics: PipelineMetrics) -> BatchWriter:
    return SessionBatchWriter(storage.sink(), metrics, on_stored=storage.version.bump).write
