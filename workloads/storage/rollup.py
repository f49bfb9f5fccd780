"""Rebuilding the per-minute rollup from the raw events, with the view's own query.

For stores whose rollup predates a rollup migration (the bench stores): rows beyond the
raw retention cannot be rebuilt, so a live stack must not truncate its rollup this way.
"""

from __future__ import annotations

from typing import Any

ROLLUP_TABLE = "events_per_minute"
ROLLUP_VIEW = "events_per_minute_mv"


def incomplete_rollup_rows(client: Any, database: str) -> int:
    """Rollup rows written before migration 0004 (no distinct-users sketch)."""
    return int(
        client.query(
            "SELECT count() FROM {db:Identifier}.{table:Identifier} "
            "WHERE users_sketch_complete = 0",
            parameters={"db": database, "table": ROLLUP_TABLE},
        ).result_rows[0][0]
    )


def rebuild_rollup(client: Any, database: str) -> None:
    """Replace the rollup with the materialized view's query run over all raw events."""
    rows = client.query(
        "SELECT as_select FROM system.tables WHERE database = {db:String} AND name = {view:String}",
        parameters={"db": database, "view": ROLLUP_VIEW},
    ).result_rows
    if not rows:
        raise RuntimeError(f"{database}.{ROLLUP_VIEW} is missing: run the migrations first")
    columns = [
        name
        for (name,) in client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} "
            "AND table = {view:String} ORDER BY position",
            parameters={"db": database, "view": ROLLUP_VIEW},
        ).result_rows
    ]
    client.command(f"TRUNCATE TABLE {database}.{ROLLUP_TABLE}")
    # The view's own SELECT, so the rebuilt rows are exactly what ingestion writes.
    client.command(f"INSERT INTO {database}.{ROLLUP_TABLE} ({', '.join(columns)}) {rows[0][0]}")
