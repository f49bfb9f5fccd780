"""The streaming job's I/O: sources, foreachBatch sinks, checkpoints.

Two queries: `ingest` reads the events topic, validates, stores raw events, dead-letters
the rest and stages valid events as Parquet; `sessions` reads the staged events and
sessionizes them. A job runs both, or one of them: locally each runs in a process of its
own. Each query has its own checkpoint; the sinks are idempotent, so restarting a query
from its checkpoint after any crash neither loses nor duplicates data. A query that
fails is restarted with exponential backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import structlog
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

from workloads.events.model import EventLimits
from workloads.events.spark import typed_event_schema
from workloads.kafka import STREAMING_GROUP_PREFIX
from workloads.streaming.checkpoints import committed_offsets, remove_orphaned_temp_files
from workloads.streaming.metrics import BatchRecord, PipelineMetrics
from workloads.streaming.settings import StreamingSettings
from workloads.streaming.spark_session import JobEnvironment, child, is_local
from workloads.streaming.transforms import (
    SESSION_INPUT_COLUMNS,
    parse_events,
    user_sessions,
)

log = structlog.get_logger(__name__)

BatchWriter = Callable[[pa.Table, int, float], BatchRecord]
_MAX_BACKOFF_S = 60.0
# Checkpoint directory per query. A query whose state changes shape gets a new name:
# Spark refuses state of another schema, so the old checkpoint would fail every restart.
# v2: sessions keep event types as a bit mask instead of a set.
CHECKPOINT_NAMES = {"ingest": "ingest", "sessions": "sessions-v2"}
QUERIES = ("ingest", "sessions")


@dataclass
class _QueryState:
    start: Callable[[], StreamingQuery]
    query: StreamingQuery | None = None
    restarts: int = 0
    next_start_at: float = 0.0
    last_error: str | None = None
    end_offsets: dict[int, int] = field(default_factory=dict)
    last_batch_id: int = -1


class StreamingJob:
    def __init__(
        self,
        spark: SparkSession,
        *,
        settings: StreamingSettings,
        limits: EventLimits,
        env: JobEnvironment,
        writers: Mapping[str, BatchWriter],
        metrics: PipelineMetrics,
    ) -> None:
        """`writers` names the queries to run ("ingest", "sessions") and where each
        writes its micro-batches."""
        unknown = sorted(set(writers) - set(QUERIES))
        if unknown or not writers:
            raise ValueError(f"queries must be some of {QUERIES}, got {sorted(writers)}")
        self._spark = spark
        self._settings = settings
        self._limits = limits
        self._env = env
        self.metrics = metrics
        self._lock = threading.Lock()
        starters = {"ingest": self._start_ingest, "sessions": self._start_sessions}
        self._queries = {
            name: _QueryState(partial(starters[name], writers[name]))
            for name in QUERIES
            if name in writers
        }

    def start(self) -> None:
        for name, state in self._queries.items():
            if is_local(self._env.checkpoint_root):
                self._repair_local_checkpoint(name, state)
            query = self._launch(name, state)
            log.info("query started", query=name, id=str(query.id), resumed_from=state.end_offsets)

    def _repair_local_checkpoint(self, name: str, state: _QueryState) -> None:
        # Renames are how Spark commits checkpoint files on a local disk, and a crash
        # between write and rename leaves debris; object stores have no such step.
        checkpoint = (
            Path(self._env.checkpoint_root.removeprefix("file://")) / CHECKPOINT_NAMES[name]
        )
        removed = remove_orphaned_temp_files(checkpoint)
        if removed:
            log.warning(
                "removed temp files a crash left in the checkpoint",
                query=name,
                files=[str(path) for path in removed],
            )
        state.end_offsets = committed_offsets(checkpoint, self._env.topic)

    def supervise(self) -> None:
        """Record progress, and restart any query that died with exponential backoff.

        Call about once a second. Progress is polled rather than pushed: a Python
        StreamingQueryListener cost the driver a third of its CPU (py4j reflection per
        field of every progress event), polling costs one JSON string per batch.
        """
        for name, state in self._queries.items():
            query = state.query
            if query is None:
                continue
            self._record_progress(name, state, query)
            if query.isActive:
                continue
            now = time.time()
            if state.next_start_at == 0.0:
                error = query.exception()
                state.last_error = str(error) if error else "stopped"
                delay = min(2.0**state.restarts, _MAX_BACKOFF_S)
                state.next_start_at = now + delay
                log.error(
                    "query failed; restarting", query=name, in_s=delay, error=state.last_error
                )
            elif now >= state.next_start_at:
                state.restarts += 1
                state.next_start_at = 0.0
                self._launch(name, state)

    def _launch(self, name: str, state: _QueryState) -> StreamingQuery:
        # A query's jobs run in the scheduler pool named after it: the stream thread
        # inherits the caller's local properties when it starts.
        self._spark.sparkContext.setLocalProperty("spark.scheduler.pool", name)
        state.query = state.start()
        return state.query

    def stop(self) -> None:
        for name, state in self._queries.items():
            if state.query is not None and state.query.isActive:
                state.query.stop()
                log.info("query stopped", query=name)

    def _record_progress(self, name: str, state: _QueryState, query: StreamingQuery) -> None:
        for progress in query.recentProgress:
            if progress.batchId <= state.last_batch_id:
                continue
            state.last_batch_id = progress.batchId
            for stage, millis in (progress.durationMs or {}).items():
                self.metrics.add_stage_time(f"spark.{name}.{stage}", millis / 1000)
            if progress.sources:
                end = progress.sources[0].endOffset
                raw = orjson.loads(end) if isinstance(end, str) else end
                offsets = raw.get(self._env.topic, {}) if isinstance(raw, dict) else {}
                with self._lock:
                    state.end_offsets = {int(p): int(o) for p, o in offsets.items()}

    def end_offsets(self, name: str) -> dict[int, int]:
        """Where the query's last committed batch read up to, per partition ({} if the
        query is not run here)."""
        with self._lock:
            state = self._queries.get(name)
            return dict(state.end_offsets) if state is not None else {}

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                name: {
                    "active": bool(state.query is not None and state.query.isActive),
                    "restarts": state.restarts,
                    "last_error": state.last_error,
                    "end_offsets": dict(state.end_offsets),
                }
                for name, state in self._queries.items()
            }

    def _source(self) -> DataFrame:
        return (
            self._spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", self._env.bootstrap)
            .option("subscribe", self._env.topic)
            .option("startingOffsets", self._settings.starting_offsets)
            .option("maxOffsetsPerTrigger", str(self._settings.max_offsets_per_trigger))
            .option("failOnDataLoss", "true")
            # The cluster's ACLs let the job's user read under this group prefix only.
            .option("groupIdPrefix", STREAMING_GROUP_PREFIX)
            .option("kafka.fetch.max.wait.ms", str(self._settings.fetch_max_wait_ms))
            .options(**self._env.kafka_options)
            .load()
        )

    def _start_ingest(self, writer: BatchWriter) -> StreamingQuery:
        parsed = parse_events(self._source(), self._limits)
        return (
            parsed.writeStream.queryName("ingest")
            .foreachBatch(_collecting(writer, partial(self.metrics.record_sink_error, "ingest")))
            .option(
                "checkpointLocation", child(self._env.checkpoint_root, CHECKPOINT_NAMES["ingest"])
            )
            .trigger(processingTime=f"{self._settings.trigger_interval_ms} milliseconds")
            .start()
        )

    def _start_sessions(self, writer: BatchWriter) -> StreamingQuery:
        events = (
            self._spark.readStream.schema(session_input_schema())
            # Staged files are deleted once a committed batch has read them.
            .option("cleanSource", "delete")
            .parquet(self._env.session_input)
        )
        sessions = user_sessions(
            events, self._settings.watermark_delay_seconds, self._settings.session_gap_seconds
        )
        return (
            sessions.writeStream.queryName("sessions")
            .outputMode("append")
            .foreachBatch(_collecting(writer, partial(self.metrics.record_sink_error, "sessions")))
            .option(
                "checkpointLocation", child(self._env.checkpoint_root, CHECKPOINT_NAMES["sessions"])
            )
            .trigger(processingTime=f"{self._settings.session_trigger_interval_ms} milliseconds")
            .start()
        )


def session_input_schema() -> T.StructType:
    typed = typed_event_schema()
    return T.StructType([typed[name] for name in SESSION_INPUT_COLUMNS])


def _collecting(
    writer: BatchWriter, on_error: Callable[[], None]
) -> Callable[[DataFrame, int], None]:
    """A foreachBatch function: one Arrow collect per batch, then the writer. A write that
    raises is counted (a sink error) and re-raised: the query fails, restarts and replays
    the batch from its checkpoint."""

    def run(frame: DataFrame, batch_id: int) -> None:
        started = time.perf_counter()
        table = frame.toArrow()
        try:
            writer(table, batch_id, time.perf_counter() - started)
        except Exception:
            on_error()
            raise

    return run
