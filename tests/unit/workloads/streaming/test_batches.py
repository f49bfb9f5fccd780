from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workloads.streaming.batches import (
    SessionInputStager,
    _pyarrow_uri,
    dead_letters_of,
    event_age_seconds,
    raw_rows,
    without_null_values,
)
from workloads.streaming.transforms import DETAIL, REASON, SESSION_INPUT_COLUMNS

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _valid(count: int) -> pa.Table:
    return pa.table(
        {
            "event_id": [f"id-{i}" for i in range(count)],
            "user_id": [f"u{i}" for i in range(count)],
            "event_time": pa.array([AT] * count, pa.timestamp("us", tz="UTC")),
            "event_type": ["click"] * count,
            "value": [1.0] * count,
            "session_id": ["s"] * count,
        }
    )


def test_staging_is_atomic_and_idempotent(tmp_path: Path) -> None:
    stager = SessionInputStager(tmp_path / "staging")
    stager.stage(_valid(3), "events_raw:abc123")
    first = (tmp_path / "staging" / "events_raw-abc123.parquet").stat().st_mtime_ns
    stager.stage(_valid(5), "events_raw:abc123")  # the replay of the same Kafka slice
    files = sorted(p.name for p in (tmp_path / "staging").iterdir())
    assert files == ["events_raw-abc123.parquet"]  # no temp file left, no second copy
    assert (tmp_path / "staging" / files[0]).stat().st_mtime_ns == first
    staged = pq.read_table(tmp_path / "staging" / files[0])
    assert staged.column_names == list(SESSION_INPUT_COLUMNS)
    assert staged.num_rows == 3


def test_empty_batches_stage_nothing(tmp_path: Path) -> None:
    stager = SessionInputStager(tmp_path)
    stager.stage(_valid(0), "events_raw:empty")
    assert list(tmp_path.iterdir()) == []


def test_dead_letters_keep_source_and_payload() -> None:
    invalid = pa.table(
        {
            "source_topic": ["events"],
            "source_partition": pa.array([3], pa.int32()),
            "source_offset": pa.array([99], pa.int64()),
            "source_timestamp": pa.array([AT], pa.timestamp("us", tz="UTC")),
            "key": [b"u1"],
            "payload": [b"{oops"],
            REASON: ["not_json"],
            DETAIL: [None],
        }
    )
    [letter] = dead_letters_of(invalid)
    assert (letter.source_partition, letter.source_offset) == (3, 99)
    assert letter.source_timestamp_ms == int(AT.timestamp() * 1000)
    assert letter.payload == b"{oops"
    assert letter.detail == ""


def test_event_age_is_never_negative() -> None:
    ages = event_age_seconds(_valid(2), AT.timestamp() - 5)
    assert list(ages) == [0.0, 0.0]
    ages = event_age_seconds(_valid(1), AT.timestamp() + 1.5)
    assert abs(ages[0] - 1.5) < 1e-6


def test_null_property_values_are_dropped_before_storage() -> None:
    maps = pa.array(
        [[("page", "/"), ("ref", None)], [("page", "/x")], None], pa.map_(pa.string(), pa.string())
    )
    table = (
        _valid(3)
        .append_column("properties", maps)
        .append_column("source_partition", pa.array([0, 0, 0], pa.int32()))
        .append_column("source_offset", pa.array([1, 2, 3], pa.int64()))
    )
    rows = raw_rows(table, AT.timestamp())
    assert rows["properties"].to_pylist() == [[("page", "/")], [("page", "/x")], None]
    clean = pa.chunked_array([pa.array([[("a", "b")]], pa.map_(pa.string(), pa.string()))])
    assert without_null_values(clean) is clean  # no copy without nulls


def test_staging_locations_may_be_uris(tmp_path: Path) -> None:
    stager = SessionInputStager((tmp_path / "by-uri").as_uri())
    stager.stage(_valid(2), "events_raw:uri")
    assert (tmp_path / "by-uri" / "events_raw-uri.parquet").is_file()
    # Hadoop's s3a:// is pyarrow's s3://; plain paths become absolute file URIs.
    assert _pyarrow_uri("s3a://bucket/rtap/session-input") == "s3://bucket/rtap/session-input"
    assert _pyarrow_uri("relative/dir").startswith("file:///")
