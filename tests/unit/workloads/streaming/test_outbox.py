from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from workloads.streaming.metrics import BatchRecord
from workloads.streaming.outbox import (
    SessionOutbox,
    SessionOutboxLoader,
    pending_batches,
    read_batch,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _sessions(users: list[str]) -> pa.Table:
    return pa.table(
        {
            "user_id": users,
            "session_start": pa.array([START] * len(users), pa.timestamp("us", tz="UTC")),
            "events": pa.array(range(1, len(users) + 1), pa.int64()),
        }
    )


class RecordingWriter:
    """Stands in for the ClickHouse writer: records what it was given, or fails on demand."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[int, list[str], float]] = []
        self.fail_on = fail_on

    def __call__(self, table: pa.Table, batch_id: int, collect_s: float) -> BatchRecord:
        if batch_id == self.fail_on:
            raise ConnectionError("ClickHouse is down")
        self.calls.append((batch_id, table.column("user_id").to_pylist(), collect_s))
        return BatchRecord("sessions", batch_id, 0.0, table.num_rows, 0, {})


def test_a_written_batch_reads_back_with_its_schema_and_timing(tmp_path: Path) -> None:
    outbox = SessionOutbox(tmp_path, "sessions-v2")
    record = outbox.write(_sessions(["a", "b"]), 7, 1.25)
    [batch] = pending_batches(tmp_path)
    table, collect_s = read_batch(batch)
    assert batch.batch_id == 7
    assert table.equals(_sessions(["a", "b"]))
    assert table.schema.metadata is None  # the hand-over metadata does not reach ClickHouse
    assert collect_s == 1.25
    assert (record.rows, record.stages_s["collect"]) == (2, 1.25)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_batches_load_in_order_and_are_deleted_once_stored(tmp_path: Path) -> None:
    outbox = SessionOutbox(tmp_path, "sessions-v2")
    for batch_id in (10, 2, 9):
        outbox.write(_sessions([f"u{batch_id}"]), batch_id, 0.5)
    writer = RecordingWriter()
    assert SessionOutboxLoader(tmp_path, writer).load_pending() == 3
    assert [call[0] for call in writer.calls] == [2, 9, 10]
    assert pending_batches(tmp_path) == []


def test_a_replayed_batch_replaces_its_file(tmp_path: Path) -> None:
    outbox = SessionOutbox(tmp_path, "sessions-v2")
    outbox.write(_sessions(["a"]), 3, 0.5)
    outbox.write(_sessions(["a"]), 3, 0.7)  # Spark ran batch 3 again after a crash
    writer = RecordingWriter()
    SessionOutboxLoader(tmp_path, writer).load_pending()
    assert writer.calls == [(3, ["a"], 0.7)]


def test_a_failed_insert_keeps_that_batch_and_the_later_ones(tmp_path: Path) -> None:
    outbox = SessionOutbox(tmp_path, "sessions-v2")
    for batch_id in (1, 2, 3):
        outbox.write(_sessions([f"u{batch_id}"]), batch_id, 0.5)
    writer = RecordingWriter(fail_on=2)
    loader = SessionOutboxLoader(tmp_path, writer)
    with pytest.raises(ConnectionError):
        loader.load_pending()
    assert [batch.batch_id for batch in pending_batches(tmp_path)] == [2, 3]
    writer.fail_on = None
    assert loader.load_pending() == 2
    assert [call[0] for call in writer.calls] == [1, 2, 3]


def test_an_older_checkpoints_batches_come_first_and_are_not_overwritten(tmp_path: Path) -> None:
    SessionOutbox(tmp_path, "sessions-v2").write(_sessions(["old"]), 0, 0.5)
    SessionOutbox(tmp_path, "sessions-v3").write(_sessions(["new"]), 0, 0.5)
    writer = RecordingWriter()
    SessionOutboxLoader(tmp_path, writer).load_pending()
    assert [call[1] for call in writer.calls] == [["old"], ["new"]]


def test_half_written_and_foreign_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / ".sessions-v2-000000000001.arrow.tmp").write_bytes(b"partial")
    (tmp_path / "notes.arrow").write_bytes(b"not a batch")
    assert pending_batches(tmp_path) == []
    assert pending_batches(tmp_path / "missing") == []


def test_the_loader_thread_stores_what_arrives_and_stops(tmp_path: Path) -> None:
    writer = RecordingWriter()
    loader = SessionOutboxLoader(tmp_path, writer, interval_s=0.01)
    loader.start()
    try:
        SessionOutbox(tmp_path, "sessions-v2").write(_sessions(["a"]), 0, 0.5)
        for _ in range(500):
            if writer.calls:
                break
            time.sleep(0.01)
    finally:
        loader.stop()
    assert writer.calls == [(0, ["a"], 0.5)]
