from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from workloads.events import EVENT_FIELDS, FIELD_NAMES, EventField, FieldKind
from workloads.storage import migrate
from workloads.storage.migrate import (
    MigrationError,
    MigrationRunner,
    clusterize,
    load_migrations,
    render,
    split_statements,
)
from workloads.storage.settings import ClickHouseSettings


def _settings(database: str, **changes: Any) -> ClickHouseSettings:
    return ClickHouseSettings(database=database, **changes)


def test_migrations_are_numbered_without_gaps() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "events_raw"


def test_render_expands_the_event_model_and_drops_comments() -> None:
    statements = render(load_migrations()[0], ClickHouseSettings(database="db1"))
    assert len(statements) == 1
    create = statements[0]
    assert create.startswith("CREATE TABLE IF NOT EXISTS db1.events_raw")
    for name in FIELD_NAMES:
        assert f"\n    {name} " in create
    assert "--" not in create
    assert "non_replicated_deduplication_window = 1000" in create


def test_split_statements_on_line_ending_semicolons() -> None:
    sql = "-- comment; not a split\nSELECT 1;\nSELECT ';'\n  ;\n\n"
    assert split_statements(sql) == ["SELECT 1", "SELECT ';'"]


def test_clusterize_switches_engines_and_adds_on_cluster() -> None:
    statement = (
        "CREATE TABLE IF NOT EXISTS db.t\n(x UInt8)\nENGINE = ReplacingMergeTree\nORDER BY x\n"
        "SETTINGS non_replicated_deduplication_window = 10"
    )
    clustered = clusterize(statement, "main")
    assert clustered.startswith("CREATE TABLE IF NOT EXISTS db.t ON CLUSTER 'main'\n")
    assert "ENGINE = ReplicatedReplacingMergeTree" in clustered
    assert "SETTINGS replicated_deduplication_window = 10" in clustered
    view = "CREATE MATERIALIZED VIEW IF NOT EXISTS db.v TO db.t AS SELECT 1"
    assert clusterize(view, "main").startswith(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS db.v ON CLUSTER 'main' TO db.t"
    )
    alter = "ALTER TABLE db.v MODIFY QUERY\nSELECT 1"
    assert clusterize(alter, "main") == "ALTER TABLE db.v ON CLUSTER 'main' MODIFY QUERY\nSELECT 1"
    # Already replicated engines are left alone.
    assert "ReplicatedReplicated" not in clusterize(clustered, "main")


def test_cluster_rendering_applies_to_every_migration() -> None:
    settings = ClickHouseSettings(database="db", cluster="main")
    for migration in load_migrations():
        for statement in render(migration, settings):
            if statement.startswith(("CREATE TABLE", "ALTER TABLE")):
                assert "ON CLUSTER 'main'" in statement
            if statement.startswith("CREATE TABLE"):
                assert "ENGINE = Replicated" in statement


def test_apply_is_idempotent_and_checks_the_model(clickhouse: Any, database: str) -> None:
    runner = MigrationRunner(clickhouse, _settings(database))
    assert runner.apply() == [m.label for m in load_migrations()]
    assert runner.apply() == []
    tables = {
        row[0]
        for row in clickhouse.query(
            "SELECT name FROM system.tables WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows
    }
    assert {"events_raw", "events_per_minute", "events_per_minute_mv", "user_sessions"} <= tables


def test_an_edited_migration_is_refused(
    clickhouse: Any, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    MigrationRunner(clickhouse, _settings(database)).apply()
    original = load_migrations()
    edited = [dataclasses.replace(original[0], template=original[0].template + "\n-- edit")]
    monkeypatch.setattr(migrate, "load_migrations", lambda: edited + original[1:])
    with pytest.raises(MigrationError, match="0001_events_raw was edited"):
        MigrationRunner(clickhouse, _settings(database)).apply()


def test_a_model_field_without_a_column_is_an_error(
    clickhouse: Any, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    MigrationRunner(clickhouse, _settings(database)).apply()
    added = EventField("country", FieldKind.IDENTIFIER, required=True, description="new")
    monkeypatch.setattr(migrate, "EVENT_FIELDS", (*EVENT_FIELDS, added))
    with pytest.raises(MigrationError, match=r"'country' has no column .* add a migration"):
        MigrationRunner(clickhouse, _settings(database)).check_events_table()


def test_a_column_of_another_type_is_an_error(
    clickhouse: Any, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    MigrationRunner(clickhouse, _settings(database)).apply()
    retyped = [
        dataclasses.replace(f, kind=FieldKind.NUMBER) if f.name == "user_id" else f
        for f in EVENT_FIELDS
    ]
    monkeypatch.setattr(migrate, "EVENT_FIELDS", tuple(retyped))
    with pytest.raises(MigrationError, match="user_id is String but the event model says Float64"):
        MigrationRunner(clickhouse, _settings(database)).check_events_table()


def test_retention_follows_the_settings(clickhouse: Any, database: str) -> None:
    MigrationRunner(clickhouse, _settings(database, raw_retention_days=30)).apply()
    MigrationRunner(clickhouse, _settings(database, raw_retention_days=7)).apply()
    engine = clickhouse.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} "
        "AND name = 'events_raw'",
        parameters={"db": database},
    ).result_rows[0][0]
    assert "toIntervalDay(7)" in engine


def test_the_merge_selector_base_follows_the_settings(clickhouse: Any, database: str) -> None:
    def engine() -> str:
        return str(
            clickhouse.query(
                "SELECT engine_full FROM system.tables WHERE database = {db:String} "
                "AND name = 'events_raw'",
                parameters={"db": database},
            ).result_rows[0][0]
        )

    MigrationRunner(clickhouse, _settings(database)).apply()
    assert "merge_selector_base = 20" in engine()
    MigrationRunner(clickhouse, _settings(database, raw_merge_selector_base=8)).apply()
    assert "merge_selector_base = 8" in engine()
