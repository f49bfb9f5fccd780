"""Versioned, idempotent ClickHouse migrations.

Migrations are `migrations/NNNN_name.sql` templates. The runner renders them (database,
the event model's columns, retention), applies those not yet recorded in
`schema_migrations`, and refuses to run if an applied migration was edited since. The
same SQL runs on the embedded engine and on clusters: with `cluster` set, the runner
switches engines to their Replicated form and adds ON CLUSTER, it never keeps a copy.
Retention (TTL) is not in the SQL: it follows the settings on every start.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any, Protocol

import structlog

from workloads.events.model import EVENT_FIELDS, clickhouse_base_type, clickhouse_columns
from workloads.storage.settings import ClickHouseSettings

log = structlog.get_logger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# The statement heads that take ON CLUSTER after the object's name.
_DDL_HEAD = re.compile(
    r"^(CREATE (?:TABLE|MATERIALIZED VIEW|DATABASE) IF NOT EXISTS [\w.]+|ALTER TABLE [\w.]+)",
    re.MULTILINE,
)
_ENGINE = re.compile(r"ENGINE = (?!Replicated)(\w*MergeTree)")
_TTL_DAYS = re.compile(r"TTL .*?toIntervalDay\((\d+)\)")
_MERGE_SELECTOR_BASE = re.compile(r"merge_selector_base = ([0-9.]+)")


class MigrationError(RuntimeError):
    """A migration cannot be applied, or the schema disagrees with the event model."""


class ClickHouseClient(Protocol):
    def command(self, cmd: str, parameters: Any = None, settings: Any = None) -> Any: ...
    def query(self, query: str, parameters: Any = None, settings: Any = None) -> Any: ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    template: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class TtlPolicy:
    """Retention of one table: rows older than `setting` days after `expression` go."""

    table: str
    expression: str
    setting: str


TTL_POLICIES = (
    TtlPolicy("events_raw", "toDateTime(event_time)", "raw_retention_days"),
    TtlPolicy("user_sessions", "toDateTime(session_start)", "raw_retention_days"),
    TtlPolicy("events_per_minute", "minute", "rollup_retention_days"),
)


def load_migrations() -> list[Migration]:
    folder = resources.files("workloads.storage") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
        elif entry.name.endswith(".sql"):
            raise MigrationError(f"migration file {entry.name} must be named NNNN_name.sql")
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must be 1..N without gaps, got {versions}")
    return found


def render(migration: Migration, settings: ClickHouseSettings) -> list[str]:
    """The migration's statements, ready for this target (embedded or cluster)."""
    columns = ",\n    ".join(f"{name} {ctype}" for name, ctype in clickhouse_columns())
    statements = [
        Template(statement).substitute(
            database=settings.database,
            event_columns=columns,
            dedup_window_blocks=settings.dedup_window_blocks,
        )
        for statement in split_statements(migration.template)
    ]
    if settings.cluster:
        statements = [clusterize(s, settings.cluster) for s in statements]
    return statements


def split_statements(sql: str) -> list[str]:
    """Split on `;` at the end of a line; `--` comment lines are dropped."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    chunks = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def clusterize(statement: str, cluster: str) -> str:
    """The cluster form of a statement: ON CLUSTER, Replicated engines and dedup window."""
    statement = _DDL_HEAD.sub(rf"\1 ON CLUSTER '{cluster}'", statement, count=1)
    statement = _ENGINE.sub(r"ENGINE = Replicated\1", statement)
    return statement.replace(
        "non_replicated_deduplication_window", "replicated_deduplication_window"
    )


class MigrationRunner:
    def __init__(self, client: ClickHouseClient, settings: ClickHouseSettings) -> None:
        self._client = client
        self._settings = settings
        self._db = settings.database
        self._on_cluster = f" ON CLUSTER '{settings.cluster}'" if settings.cluster else ""

    def apply(self) -> list[str]:
        """Apply pending migrations, check the schema, reconcile retention.

        Returns the labels of the migrations applied now (empty when up to date).
        """
        self._ensure_ledger()
        recorded = self._recorded_checksums()
        applied_now: list[str] = []
        for migration in load_migrations():
            if migration.version in recorded:
                if recorded[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.label} was edited after it was applied; "
                        "add a new migration instead of changing an applied one"
                    )
                continue
            for statement in render(migration, self._settings):
                self._client.command(statement)
            self._record(migration)
            applied_now.append(migration.label)
            log.info("migration applied", migration=migration.label, database=self._db)
        self.check_events_table()
        self.reconcile_retention()
        self.reconcile_merge_selector()
        return applied_now

    def check_events_table(self) -> None:
        """Fail if events_raw lacks a model field or stores it with another type."""
        rows = self._client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} "
            "AND table = 'events_raw'",
            parameters={"db": self._db},
        ).result_rows
        actual = dict(rows)
        for spec in EVENT_FIELDS:
            expected = clickhouse_base_type(spec.kind)
            if spec.name not in actual:
                raise MigrationError(
                    f"event model field '{spec.name}' has no column in {self._db}.events_raw: "
                    "add a migration that adds it"
                )
            if actual[spec.name] != expected:
                raise MigrationError(
                    f"{self._db}.events_raw.{spec.name} is {actual[spec.name]} but the event "
                    f"model says {expected}: add a migration that alters it"
                )

    def reconcile_retention(self) -> None:
        for policy in TTL_POLICIES:
            days = int(getattr(self._settings, policy.setting))
            current = _TTL_DAYS.search(self._engine_full(policy.table))
            if current and int(current[1]) == days:
                continue
            self._client.command(
                f"ALTER TABLE {self._db}.{policy.table}{self._on_cluster} "
                f"MODIFY TTL {policy.expression} + INTERVAL {days} DAY",
                settings={"materialize_ttl_after_modify": 0},
            )
            log.info("retention set", table=policy.table, days=days)

    def reconcile_merge_selector(self) -> None:
        """Set events_raw's merge_selector_base from the settings, where the server has it."""
        base = self._settings.raw_merge_selector_base
        known = self._client.query(
            "SELECT count() FROM system.merge_tree_settings WHERE name = 'merge_selector_base'"
        ).result_rows[0][0]
        if not known:
            log.warning("this ClickHouse has no merge_selector_base; merges keep their default")
            return
        current = _MERGE_SELECTOR_BASE.search(self._engine_full("events_raw"))
        if current and float(current[1]) == base:
            return
        self._client.command(
            f"ALTER TABLE {self._db}.events_raw{self._on_cluster} "
            f"MODIFY SETTING merge_selector_base = {base}"
        )
        log.info("merge selector base set", table="events_raw", base=base)

    def _engine_full(self, table: str) -> str:
        """The table's engine clause as the server reports it (TTL and settings included)."""
        return str(
            self._client.query(
                "SELECT engine_full FROM system.tables WHERE database = {db:String} "
                "AND name = {table:String}",
                parameters={"db": self._db, "table": table},
            ).result_rows[0][0]
        )

    def _ensure_ledger(self) -> None:
        self._client.command(f"CREATE DATABASE IF NOT EXISTS {self._db}{self._on_cluster}")
        engine = "ReplicatedReplacingMergeTree" if self._settings.cluster else "ReplacingMergeTree"
        self._client.command(
            f"CREATE TABLE IF NOT EXISTS {self._db}.schema_migrations{self._on_cluster} "
            "(version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')) "
            f"ENGINE = {engine}(applied_at) ORDER BY version"
        )

    def _recorded_checksums(self) -> dict[int, str]:
        rows = self._client.query(
            "SELECT version, argMax(checksum, applied_at) FROM {db:Identifier}.schema_migrations "
            "GROUP BY version",
            parameters={"db": self._db},
        ).result_rows
        return {int(version): str(checksum) for version, checksum in rows}

    def _record(self, migration: Migration) -> None:
        self._client.command(
            "INSERT INTO {db:Identifier}.schema_migrations (version, name, checksum, applied_at) "
            "VALUES ({version:UInt32}, {name:String}, {checksum:String}, now64(3))",
            parameters={
                "db": self._db,
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum,
            },
        )
