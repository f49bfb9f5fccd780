"""Synthetic history generated inside ClickHouse, for read benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workloads.events.model import EventType
from workloads.storage.migrate import MigrationRunner
from workloads.storage.settings import ClickHouseSettings
from workloads.storage.synthetic import cumulative_mix, seed_events

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIX = {EventType.PAGE_VIEW: 0.7, EventType.CLICK: 0.2, EventType.PURCHASE: 0.1}


def _rows(clickhouse: Any, sql: str, database: str) -> list[tuple[Any, ...]]:
    return list(clickhouse.query(sql, parameters={"db": database}).result_rows)


def test_cumulative_mix_ends_at_one() -> None:
    types, cumulative = cumulative_mix({EventType.CLICK: 3.0, EventType.SEARCH: 1.0})
    assert types == ["click", "search"]
    assert cumulative == [0.75, 1.0]


def test_seeded_events_follow_the_mix_span_and_feed_the_rollups(
    clickhouse: Any, database: str
) -> None:
    MigrationRunner(clickhouse, ClickHouseSettings(database=database)).apply()
    seed_events(clickhouse, database, events=20_000, end=END, span_seconds=3600, users=500, mix=MIX)
    by_type = dict(
        _rows(
            clickhouse,
            "SELECT event_type, count() FROM {db:Identifier}.events_raw GROUP BY 1",
            database,
        )
    )
    assert sum(by_type.values()) == 20_000
    assert set(by_type) == {"page_view", "click", "purchase"}
    assert by_type["page_view"] / 20_000 == pytest.approx(0.7, abs=0.02)
    first, last, users = _rows(
        clickhouse,
        "SELECT min(event_time), max(event_time), uniqExact(user_id) "
        "FROM {db:Identifier}.events_raw",
        database,
    )[0]
    assert END - timedelta(hours=1) < first.replace(tzinfo=UTC) and last.replace(tzinfo=UTC) <= END
    assert 450 <= users <= 500
    (rolled_up,) = _rows(
        clickhouse, "SELECT sum(events) FROM {db:Identifier}.events_per_minute", database
    )[0]
    assert rolled_up == 20_000


def test_the_same_seed_gives_the_same_events(clickhouse: Any, database: str) -> None:
    MigrationRunner(clickhouse, ClickHouseSettings(database=database)).apply()
    for seed in (1, 1, 2):
        seed_events(
            clickhouse, database, events=1_000, end=END, span_seconds=60, users=10, mix=MIX,
            seed=seed,
        )  # fmt: skip
    (distinct,) = _rows(
        clickhouse, "SELECT uniqExact(event_id) FROM {db:Identifier}.events_raw", database
    )[0]
    assert distinct == 2_000  # seed 1 twice: the same 1,000 ids; seed 2: 1,000 new ones
