"""The exactly-once ClickHouse sink (design: docs/exactly-once.md).

Every insert carries a deduplication token derived from what it contains, never from
when it runs. A micro-batch replayed after a crash covers the same Kafka offsets, so it
produces the same tokens and ClickHouse drops the repeated blocks, in the target table
and, through `deduplicate_blocks_in_dependent_materialized_views`, in the rollups.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

INSERT_SETTINGS: dict[str, int] = {
    # Synchronous inserts: a batch is committed to Spark only once ClickHouse has it.
    "async_insert": 0,
    "insert_deduplicate": 1,
    "deduplicate_blocks_in_dependent_materialized_views": 1,
}


def offsets_token(table: str, partitions: pa.Array, offsets: pa.Array) -> str:
    """Token for rows read from Kafka: the partitions and offset ranges they cover."""
    grouped = (
        pa.table({"p": partitions, "o": offsets})
        .group_by("p")
        .aggregate([("o", "min"), ("o", "max"), ("o", "count")])
        .sort_by("p")
    )
    ranges = ",".join(
        f"{p}:{lo}-{hi}#{n}"
        for p, lo, hi, n in zip(
            grouped["p"].to_pylist(),
            grouped["o_min"].to_pylist(),
            grouped["o_max"].to_pylist(),
            grouped["o_count"].to_pylist(),
            strict=True,
        )
    )
    return _digest(table, ranges.encode())


def content_token(table: str, rows: pa.Table, key_columns: list[str]) -> str:
    """Token for derived rows (sessions): a digest of their keys in a fixed order."""
    keys = rows.select(key_columns).sort_by([(name, "ascending") for name in key_columns])
    digest = hashlib.sha256()
    for name in key_columns:
        for value in pc.cast(keys[name], pa.string()).to_pylist():
            digest.update(f"{value}\x1f".encode())
    return _digest(table, digest.digest())


def _digest(table: str, payload: bytes) -> str:
    return f"{table}:{hashlib.sha256(payload).hexdigest()[:40]}"


class ClickHouseSink:
    """Idempotent inserts of Arrow tables into one database."""

    def __init__(self, client: Any, database: str) -> None:
        self._client = client
        self._database = database

    def insert(self, table: str, rows: pa.Table, token: str) -> None:
        if rows.num_rows == 0:
            return
        self._client.insert_arrow(
            f"{self._database}.{table}",
            rows,
            settings={**INSERT_SETTINGS, "insert_deduplication_token": token},
        )
