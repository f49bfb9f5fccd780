"""Checks a run's stored data against the producer's ground truth.

Raw rows are checked by event id: every acknowledged id stored, none twice. Raw
duplicates can be merged away by ReplacingMergeTree before anyone looks, so the rollups
are the insert-level audit: they are fed by every inserted row and never merged away,
so a duplicate (or lost) insert shows up as a rollup cell that disagrees with the truth.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from workloads.producer.ground_truth import GroundTruthSummary, RollupCell, sums_match

RollupKey = tuple[str, int]
_MAX_EXAMPLES = 10


@dataclass
class StorageVerdict:
    acknowledged: int
    stored: int
    distinct_stored: int
    duplicates: int
    missing: int
    unexpected: int
    rollup_cells: int
    rollup_mismatches: int
    # Sessions stored twice under one key, not merged away yet. Merges may hide some,
    # so this is a weaker audit than the rollups; it catches a failed insert dedup
    # between merges.
    session_duplicates: int = 0
    mismatch_examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_events(client: Any, database: str) -> int:
    """Rows in events_raw (duplicates not yet merged away included)."""
    result = client.query(
        "SELECT count() FROM {db:Identifier}.events_raw", parameters={"db": database}
    )
    return int(result.result_rows[0][0])


def rollup_snapshot(client: Any, database: str, from_minute: int) -> dict[RollupKey, RollupCell]:
    """Rollup totals per (event type, epoch minute) from `from_minute` on."""
    rows = client.query(
        "SELECT event_type, intDiv(toUnixTimestamp(minute), 60) AS m, sum(events), "
        "sum(value_sum) FROM {db:Identifier}.events_per_minute "
        "WHERE minute >= toDateTime({start:UInt32}) GROUP BY event_type, m",
        parameters={"db": database, "start": from_minute * 60},
    ).result_rows
    return {(str(t), int(m)): RollupCell(int(n), float(s)) for t, m, n, s in rows}


def verify_run(
    client: Any,
    *,
    database: str,
    truth: GroundTruthSummary,
    start_offsets: dict[int, int],
    baseline: dict[RollupKey, RollupCell],
    baseline_from_minute: int,
) -> StorageVerdict:
    names = {"db": database, "scratch": f"_verify_{uuid.uuid4().hex[:12]}"}
    client.command(
        "CREATE TABLE {db:Identifier}.{scratch:Identifier} (id FixedString(16)) ENGINE = Memory",
        parameters=names,
    )
    try:
        raw_ids = truth.ids_path.read_bytes()
        if raw_ids:
            ids = pa.Array.from_buffers(
                pa.binary(16), len(raw_ids) // 16, [None, pa.py_buffer(raw_ids)]
            )
            client.insert_arrow(names["scratch"], pa.table({"id": ids}), database=database)
        stored, distinct = client.query(
            "SELECT count(), uniqExact(event_id) FROM {db:Identifier}.events_raw "
            "WHERE UUIDToNum(event_id) IN (SELECT id FROM {db:Identifier}.{scratch:Identifier})",
            parameters=names,
        ).result_rows[0]
        unexpected = _unexpected_rows(client, names, start_offsets)
    finally:
        client.command(
            "DROP TABLE IF EXISTS {db:Identifier}.{scratch:Identifier}", parameters=names
        )
    cells, mismatches = compare_rollups(
        truth.rollups, rollup_snapshot(client, database, baseline_from_minute), baseline
    )
    return StorageVerdict(
        acknowledged=truth.valid,
        stored=int(stored),
        distinct_stored=int(distinct),
        duplicates=int(stored) - int(distinct),
        missing=truth.valid - int(distinct),
        unexpected=unexpected,
        rollup_cells=cells,
        rollup_mismatches=len(mismatches),
        session_duplicates=_session_duplicates(client, database),
        mismatch_examples=mismatches[:_MAX_EXAMPLES],
    )


def _session_duplicates(client: Any, database: str) -> int:
    result = client.query(
        "SELECT count() - uniqExact(user_id, session_start) FROM {db:Identifier}.user_sessions",
        parameters={"db": database},
    )
    return int(result.result_rows[0][0])


def compare_rollups(
    truth: dict[RollupKey, RollupCell],
    actual: dict[RollupKey, RollupCell],
    baseline: dict[RollupKey, RollupCell],
) -> tuple[int, list[dict[str, Any]]]:
    """Cells compared and the mismatching ones: actual minus baseline must equal truth."""
    mismatches: list[dict[str, Any]] = []
    keys = sorted(set(truth) | set(actual))
    empty = RollupCell()
    for key in keys:
        expected = truth.get(key, empty)
        now, before = actual.get(key, empty), baseline.get(key, empty)
        events = now.events - before.events
        value_sum = now.value_sum - before.value_sum
        if events != expected.events or not sums_match(expected.value_sum, value_sum):
            mismatches.append(
                {
                    "event_type": key[0],
                    "minute": key[1],
                    "expected_events": expected.events,
                    "stored_events": events,
                    "expected_value_sum": expected.value_sum,
                    "stored_value_sum": value_sum,
                }
            )
    return len(keys), mismatches


def _unexpected_rows(client: Any, names: dict[str, str], start_offsets: dict[int, int]) -> int:
    """Rows read from this run's offsets whose id the producer never saw acknowledged."""
    if not start_offsets:
        return 0
    starts = [start_offsets.get(p, 0) for p in range(max(start_offsets) + 1)]
    result = client.query(
        "SELECT count() FROM {db:Identifier}.events_raw "
        "WHERE kafka_partition < length({starts:Array(UInt64)}) "
        "AND kafka_offset >= arrayElement({starts:Array(UInt64)}, kafka_partition + 1) "
        "AND UUIDToNum(event_id) NOT IN (SELECT id FROM {db:Identifier}.{scratch:Identifier})",
        parameters={**names, "starts": starts},
    )
    return int(result.result_rows[0][0])
