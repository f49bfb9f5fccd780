"""What happens to one micro-batch once Spark has handed it over as Arrow.

Both writers are idempotent: running one twice on the same batch (a replay after a
crash) leaves ClickHouse and the dead-letter topic as if it had run once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import structlog

from workloads.events.model import EVENT_FIELDS, FIELD_NAMES, FieldKind
from workloads.storage.sink import ClickHouseSink, content_token, offsets_token
from workloads.streaming.dead_letters import DeadLetter, DeadLetterWriter
from workloads.streaming.faults import CrashPoints
from workloads.streaming.metrics import BatchRecord, PipelineMetrics
from workloads.streaming.transforms import DETAIL, REASON, SESSION_INPUT_COLUMNS

log = structlog.get_logger(__name__)

RAW_TABLE = "events_raw"
SESSIONS_TABLE = "user_sessions"
SESSION_KEY = ["user_id", "session_start"]
_TIMESTAMP = pa.timestamp("us", tz="UTC")


def raw_rows(valid: pa.Table, ingested_at: float) -> pa.Table:
    """The events_raw columns: the event fields plus where and when each row came in.

    A property whose value is null means "not set" and is dropped here.
    """
    columns = {name: valid[name] for name in FIELD_NAMES}
    for spec in EVENT_FIELDS:
        if spec.kind is FieldKind.PROPERTIES:
            columns[spec.name] = without_null_values(valid[spec.name])
    columns["kafka_partition"] = valid["source_partition"]
    columns["kafka_offset"] = valid["source_offset"]
    columns["ingested_at"] = _constant_timestamp(ingested_at, valid.num_rows)
    return pa.table(columns)


def without_null_values(maps: pa.ChunkedArray) -> pa.ChunkedArray:
    """The map column with null-valued entries removed (a copy only when there are any)."""
    chunks = maps.chunks
    if not any(chunk.items.null_count for chunk in chunks):
        return maps
    cleaned = [
        None if entries is None else [(k, v) for k, v in entries if v is not None]
        for entries in maps.to_pylist()
    ]
    return pa.chunked_array([pa.array(cleaned, maps.type)])


def dead_letters_of(invalid: pa.Table) -> list[DeadLetter]:
    return [
        DeadLetter(
            source_topic=row["source_topic"],
            source_partition=row["source_partition"],
            source_offset=row["source_offset"],
            source_timestamp_ms=_epoch_ms(row["source_timestamp"]),
            key=row["key"],
            payload=row["payload"] or b"",
            reason=row[REASON],
            detail=row[DETAIL] or "",
        )
        for row in invalid.select(
            [
                "source_topic",
                "source_partition",
                "source_offset",
                "source_timestamp",
                "key",
                "payload",
                REASON,
                DETAIL,
            ]
        ).to_pylist()
    ]


def event_age_seconds(events: pa.Table, at: float) -> npt.NDArray[np.float64]:
    micros = pc.cast(events["event_time"], pa.int64()).to_numpy(zero_copy_only=False)
    ages: npt.NDArray[np.float64] = np.maximum(at - micros.astype(np.float64) / 1e6, 0.0)
    return ages


class SessionInputStager:
    """Stages each batch's valid events, as far as sessionization needs them, as Parquet.

    The sessions query reads this location as a file stream, so events are parsed and
    validated once, by the ingest query. A file is named after the batch's Kafka slice
    and written under a hidden temporary name, then moved into place; a replayed batch
    finds its file already there and leaves it. The location is a local directory, or an
    s3a:// URI in a cluster (written through pyarrow's S3 filesystem, which takes the
    pod's IRSA credentials).
    """

    def __init__(self, location: str | Path) -> None:
        self._filesystem, self._base = pafs.FileSystem.from_uri(_pyarrow_uri(str(location)))
        self._filesystem.create_dir(self._base, recursive=True)

    def stage(self, valid: pa.Table, token: str) -> None:
        if valid.num_rows == 0:
            return
        name = token.replace(":", "-") + ".parquet"
        target = f"{self._base}/{name}"
        if self._filesystem.get_file_info(target).type != pafs.FileType.NotFound:
            return
        # Spark's file source skips names starting with "." until the move.
        temporary = f"{self._base}/.{name}.tmp"
        pq.write_table(
            valid.select(list(SESSION_INPUT_COLUMNS)), temporary, filesystem=self._filesystem
        )
        self._filesystem.move(temporary, target)


def _pyarrow_uri(location: str) -> str:
    """pyarrow names S3 `s3://`, Hadoop `s3a://`; a plain path must be absolute."""
    if location.startswith("s3a://"):
        return "s3://" + location.removeprefix("s3a://")
    if "://" in location:
        return location
    return Path(location).resolve().as_uri()


class IngestBatchWriter:
    """Valid events to events_raw (rollups follow by materialized view), the rest to the DLQ."""

    def __init__(
        self,
        sink: ClickHouseSink,
        dead_letters: DeadLetterWriter,
        stager: SessionInputStager,
        metrics: PipelineMetrics,
        *,
        crash_points: CrashPoints | None = None,
        on_stored: Callable[[], object] | None = None,
    ) -> None:
        self._on_stored = on_stored or _nothing
        self._sink = sink
        self._dead_letters = dead_letters
        self._stager = stager
        self._metrics = metrics
        self._crash_points = crash_points or CrashPoints()

    def write(self, batch: pa.Table, batch_id: int, collect_s: float) -> BatchRecord:
        started = time.perf_counter()
        invalid_mask = pc.is_valid(batch[REASON])
        valid = batch.filter(pc.invert(invalid_mask))
        invalid = batch.filter(invalid_mask)
        # The token names the Kafka slice, valid and invalid rows alike: a replay of the
        # same slice yields the same token whatever else differs (ingested_at, say).
        token = offsets_token(RAW_TABLE, batch["source_partition"], batch["source_offset"])
        rows = raw_rows(valid, time.time())
        split_done = time.perf_counter()
        self._sink.insert(RAW_TABLE, rows, token)
        if rows.num_rows:
            # The rows are queryable now: move cached API answers on.
            self._on_stored()
        insert_done = time.perf_counter()
        if batch.num_rows:
            self._crash_points.reached("ingest.after_insert")
        written = self._dead_letters.write(dead_letters_of(invalid))
        if batch.num_rows:
            self._crash_points.reached("ingest.after_dead_letters")
        staged_at = time.perf_counter()
        self._stager.stage(valid, token)
        committed_at = time.time()
        freshness = event_age_seconds(valid, committed_at)
        record = BatchRecord(
            query="ingest",
            batch_id=batch_id,
            finished_at=committed_at,
            rows=valid.num_rows,
            dead_letters=written,
            stages_s={
                "collect": collect_s,
                "split": split_done - started,
                "insert": insert_done - split_done,
                "dead_letters": staged_at - insert_done,
                "stage_sessions": time.perf_counter() - staged_at,
            },
            freshness_p50_s=_percentile(freshness, 50),
            freshness_p95_s=_percentile(freshness, 95),
        )
        self._metrics.record_ingest(
            record, freshness, Counter(invalid[REASON].to_pylist()) if invalid.num_rows else None
        )
        log.info(
            "ingest batch committed",
            batch_id=batch_id,
            rows=record.rows,
            dead_letters=written,
            stages_s=record.stages_s,
            freshness_p95_s=record.freshness_p95_s,
        )
        return record


class SessionBatchWriter:
    """Closed sessions to user_sessions."""

    def __init__(
        self,
        sink: ClickHouseSink,
        metrics: PipelineMetrics,
        on_stored: Callable[[], object] | None = None,
    ) -> None:
        self._sink = sink
        self._metrics = metrics
        self._on_stored = on_stored or _nothing

    def write(self, batch: pa.Table, batch_id: int, collect_s: float) -> BatchRecord:
        started = time.perf_counter()
        token = content_token(SESSIONS_TABLE, batch, SESSION_KEY)
        rows = batch.append_column("ingested_at", _constant_timestamp(time.time(), batch.num_rows))
        self._sink.insert(SESSIONS_TABLE, rows, token)
        if batch.num_rows:
            self._on_stored()
        stages_s = {"collect": collect_s, "insert": time.perf_counter() - started}
        record = BatchRecord.of_sessions(batch_id, batch.num_rows, stages_s)
        self._metrics.record_sessions(record)
        log.info(
            "sessions batch committed",
            batch_id=batch_id,
            rows=record.rows,
            stages_s=record.stages_s,
        )
        return record


def _nothing() -> None:
    return None


def _constant_timestamp(epoch_s: float, length: int) -> pa.Array:
    return pa.array(np.full(length, int(epoch_s * 1e6), dtype=np.int64), _TIMESTAMP)


def _epoch_ms(value: datetime | None) -> int:
    return int(value.timestamp() * 1000) if value is not None else 0


def _percentile(values: npt.NDArray[np.float64], q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None
