from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from workloads.storage.migrate import MigrationRunner
from workloads.storage.settings import ClickHouseSettings
from workloads.storage.sink import ClickHouseSink, content_token, offsets_token
from workloads.streaming.batches import raw_rows


def _valid_batch(offsets: list[int], partition: int = 0) -> pa.Table:
    count = len(offsets)
    at = datetime.now(UTC).replace(second=0, microsecond=0)
    return pa.table(
        {
            "event_id": [f"00000000-0000-4000-8000-{o:012d}" for o in offsets],
            "event_time": pa.array([at] * count, pa.timestamp("us", tz="UTC")),
            "user_id": ["u1"] * count,
            "session_id": ["s1"] * count,
            "event_type": ["click"] * count,
            "value": [1.0] * count,
            "properties": pa.array([[("page", "/")]] * count, pa.map_(pa.string(), pa.string())),
            "source_partition": pa.array([partition] * count, pa.int32()),
            "source_offset": pa.array(offsets, pa.int64()),
        }
    )


def _counts(client: Any, database: str) -> tuple[int, int]:
    result = client.query(
        "SELECT (SELECT count() FROM {db:Identifier}.events_raw), "
        "(SELECT sum(events) FROM {db:Identifier}.events_per_minute)",
        parameters={"db": database},
    )
    raw, rolled = result.result_rows[0]
    return int(raw), int(rolled)


def test_offsets_token_names_the_slice_not_the_order() -> None:
    partitions = pa.array([0, 0, 1, 1], pa.int32())
    offsets = pa.array([5, 6, 9, 10], pa.int64())
    token = offsets_token("events_raw", partitions, offsets)
    assert token == offsets_token(
        "events_raw", partitions.take([3, 1, 2, 0]), offsets.take([3, 1, 2, 0])
    )
    assert token != offsets_token("events_raw", partitions, pa.array([5, 6, 9, 11], pa.int64()))
    assert token != offsets_token("user_sessions", partitions, offsets)


def test_content_token_ignores_row_order() -> None:
    table = pa.table({"user_id": ["a", "b"], "session_start": [1, 2]})
    reordered = table.take([1, 0])
    keys = ["user_id", "session_start"]
    assert content_token("s", table, keys) == content_token("s", reordered, keys)
    assert content_token("s", table, keys) != content_token("s", table.slice(0, 1), keys)


def test_a_replayed_batch_is_stored_once_in_raw_and_rollups(clickhouse: Any, database: str) -> None:
    MigrationRunner(clickhouse, ClickHouseSettings(database=database)).apply()
    sink = ClickHouseSink(clickhouse, database)
    batch = _valid_batch(list(range(100)))
    token = offsets_token("events_raw", batch["source_partition"], batch["source_offset"])
    sink.insert("events_raw", raw_rows(batch, 1.0), token)
    # The replay after a crash: same slice, same token, a different ingested_at.
    sink.insert("events_raw", raw_rows(batch, 2.0), token)
    assert _counts(clickhouse, database) == (100, 100)
    following = _valid_batch(list(range(100, 150)))
    sink.insert(
        "events_raw",
        raw_rows(following, 3.0),
        offsets_token("events_raw", following["source_partition"], following["source_offset"]),
    )
    assert _counts(clickhouse, database) == (150, 150)


def test_dedup_survives_a_new_client(clickhouse: Any, database: str) -> None:
    """The dedup window lives in the table, so it holds across process restarts too."""
    MigrationRunner(clickhouse, ClickHouseSettings(database=database)).apply()
    batch = _valid_batch([1, 2, 3])
    token = offsets_token("events_raw", batch["source_partition"], batch["source_offset"])
    ClickHouseSink(clickhouse, database).insert("events_raw", raw_rows(batch, 1.0), token)
    ClickHouseSink(clickhouse, database).insert("events_raw", raw_rows(batch, 1.0), token)
    assert _counts(clickhouse, database) == (3, 3)
