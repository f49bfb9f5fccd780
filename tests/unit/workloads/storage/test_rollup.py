"""Migration 0004's rollup columns, the query layer's fallback for older rows, and the
rebuild of a bench store's rollup, on the real embedded engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workloads.events.model import EventType
from workloads.serving.clickhouse_reader import ClickHouseReader
from workloads.serving.observability import ServingMetrics
from workloads.serving.queries import Queries
from workloads.serving.settings import ServingSettings
from workloads.serving.windows import Window
from workloads.storage import migrate
from workloads.storage.migrate import MigrationRunner
from workloads.storage.rollup import incomplete_rollup_rows, rebuild_rollup
from workloads.storage.settings import ClickHouseSettings
from workloads.storage.synthetic import seed_events

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIX = {EventType.PAGE_VIEW: 0.6, EventType.CLICK: 0.4}
WINDOW = Window(END - timedelta(hours=2), END + timedelta(minutes=1))


def _queries(clickhouse: Any, database: str) -> Queries:
    settings = ServingSettings()
    return Queries(ClickHouseReader([clickhouse], settings, ServingMetrics()), database, settings)


def _truth(clickhouse: Any, database: str) -> tuple[Any, ...]:
    return tuple(
        clickhouse.query(
            "SELECT uniqExact(user_id), uniqExactIf(user_id, event_type = 'click'), "
            "max(event_time), max(ingested_at) FROM {db:Identifier}.events_raw",
            parameters={"db": database},
        ).result_rows[0]
    )


def _seed(clickhouse: Any, database: str) -> None:
    seed_events(
        clickhouse, database, events=30_000, end=END, span_seconds=3600, users=3000, mix=MIX
    )


def _assert_answers_match_the_raw_rows(clickhouse: Any, database: str) -> None:
    users, clickers, latest, ingested = _truth(clickhouse, database)
    queries = _queries(clickhouse, database)
    assert queries.distinct_users(WINDOW, None).users == pytest.approx(users, rel=0.02)
    click = queries.distinct_users(WINDOW, EventType.CLICK).users
    assert click == pytest.approx(clickers, rel=0.02)
    fresh = queries.freshness(END)
    assert fresh.latest_event_time == latest.replace(tzinfo=UTC)
    assert fresh.latest_ingested_at == ingested.replace(tzinfo=UTC)


def test_new_rollup_rows_carry_the_sketch_and_latest_times(clickhouse: Any, database: str) -> None:
    MigrationRunner(clickhouse, ClickHouseSettings(database=database)).apply()
    _seed(clickhouse, database)
    assert incomplete_rollup_rows(clickhouse, database) == 0
    _assert_answers_match_the_raw_rows(clickhouse, database)


def test_rows_from_before_0004_fall_back_and_a_rebuild_completes_them(
    clickhouse: Any, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = migrate.load_migrations()
    settings = ClickHouseSettings(database=database)
    monkeypatch.setattr(migrate, "load_migrations", lambda: every[:3])
    MigrationRunner(clickhouse, settings).apply()
    _seed(clickhouse, database)
    monkeypatch.setattr(migrate, "load_migrations", lambda: every)
    assert MigrationRunner(clickhouse, settings).apply() == [every[3].label]
    # The sketch of these rows is empty: answering from it would say 0 users.
    assert incomplete_rollup_rows(clickhouse, database) > 0
    _assert_answers_match_the_raw_rows(clickhouse, database)

    rebuild_rollup(clickhouse, database)
    assert incomplete_rollup_rows(clickhouse, database) == 0
    (rolled_up,) = clickhouse.query(
        "SELECT sum(events) FROM {db:Identifier}.events_per_minute", parameters={"db": database}
    ).result_rows[0]
    assert rolled_up == 30_000
    _assert_answers_match_the_raw_rows(clickhouse, database)
