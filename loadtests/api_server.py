"""The serving API alone, over a chDB directory of its own: what `rtap bench api` measures.

Run as `python -m loadtests.api_server CONFIG.json`. It applies the migrations, seeds
synthetic history when the store does not hold the requested number of events yet,
then serves with uvicorn. It reports to its parent on stdout, one JSON object per line
(`{"seeded": n, "total": N}` while seeding, then `{"ready": ..., "latest": ...}`).
"""

from __future__ import annotations

import gc
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
import uvicorn
from pydantic import BaseModel

from core.logs import configure_logging
from workloads.events.model import EventType
from workloads.serving.app import create_app
from workloads.serving.bootstrap import build_context
from workloads.serving.settings import ServingSettings
from workloads.storage.client import connect, connect_many
from workloads.storage.migrate import MigrationRunner
from workloads.storage.rollup import incomplete_rollup_rows, rebuild_rollup
from workloads.storage.settings import ClickHouseSettings
from workloads.storage.synthetic import seed_events, seed_sessions
from workloads.storage.verification import count_events

log = structlog.get_logger(__name__)

SEED_SPAN_SECONDS = 86_400
MERGE_SETTLE_TIMEOUT_S = 900


class ApiServerConfig(BaseModel):
    data_dir: Path
    log_file: Path
    keys_file: Path
    redis_url: str
    port: int
    events: int
    users: int
    session_gap_seconds: int
    event_mix: dict[EventType, float]
    clickhouse: ClickHouseSettings
    serving: ServingSettings


def _report(**message: Any) -> None:
    # The parent process reads these lines; this is a protocol, not logging.
    sys.stdout.write(orjson.dumps(message).decode() + "\n")
    sys.stdout.flush()


def _ensure_history(client: Any, config: ApiServerConfig) -> datetime:
    """Seed `config.events` events and their sessions unless exactly that many are stored,
    and let the merges settle; returns the latest event time."""
    database = config.clickhouse.database
    stored = count_events(client, database)
    if stored != config.events:
        log.info("seeding synthetic history", stored=stored, wanted=config.events)
        for table in ("events_raw", "events_per_minute", "user_sessions"):
            client.command(f"TRUNCATE TABLE IF EXISTS {database}.{table}")
        seed_events(
            client,
            database,
            events=config.events,
            end=datetime.now(UTC),
            span_seconds=SEED_SPAN_SECONDS,
            users=config.users,
            mix=config.event_mix,
            progress=lambda done: _report(seeded=done, total=config.events),
        )
    earliest, latest = (
        _utc(moment)
        for moment in client.query(
            "SELECT min(event_time), max(event_time) FROM {db:Identifier}.events_raw",
            parameters={"db": database},
        ).result_rows[0]
    )
    if _count(client, database, "user_sessions") == 0:
        seed_sessions(
            client,
            database,
            start=earliest,
            end=latest + timedelta(milliseconds=1),
            gap_seconds=config.session_gap_seconds,
            progress=lambda done, total: _report(sessions=done, total=total),
        )
    if incomplete_rollup_rows(client, database):
        # A store seeded before migration 0004: its rollup rows lack the sketch.
        _report(rollup=0)
        rebuild_rollup(client, database)
    _settle_merges(client, database)
    return latest


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _count(client: Any, database: str, table: str) -> int:
    rows = client.query(
        "SELECT count() FROM {db:Identifier}.{table:Identifier}",
        parameters={"db": database, "table": table},
    ).result_rows
    return int(rows[0][0])


def _active_parts(client: Any, database: str) -> dict[str, int]:
    rows = client.query(
        "SELECT table, count() FROM system.parts WHERE database = {db:String} AND active "
        "GROUP BY table ORDER BY table",
        parameters={"db": database},
    ).result_rows
    return {str(table): int(parts) for table, parts in rows}


def _settle_merges(client: Any, database: str) -> None:
    """Wait (bounded) until no merge runs: a store just seeded holds hundreds of parts,
    and queries over them would measure the seeding, not the store."""
    deadline = time.monotonic() + MERGE_SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        running = client.query(
            "SELECT count() FROM system.merges WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows[0][0]
        if running == 0:
            return
        _report(merging=int(running))
        time.sleep(1)
    log.warning("merges still running; measuring anyway", timeout_s=MERGE_SETTLE_TIMEOUT_S)


def freeze_startup_objects() -> None:
    """Keep the objects built at start-up out of every later garbage collection.

    A full collection walks every tracked object: with the app, its schemas and the
    engine's bindings loaded that took long enough to show as a 250 ms stall in the
    API's tail latency. What exists now lives as long as the process anyway.
    """
    gc.collect()
    gc.freeze()


def main(config_path: str) -> None:
    config = ApiServerConfig.model_validate_json(Path(config_path).read_bytes())
    configure_logging(config.log_file)
    client = connect(config.clickhouse, config.data_dir)
    MigrationRunner(client, config.clickhouse).apply()
    latest = _ensure_history(client, config)
    context = build_context(
        clickhouse_clients=connect_many(
            config.clickhouse, config.data_dir, config.serving.clickhouse_connections
        ),
        database=config.clickhouse.database,
        redis_url=config.redis_url,
        settings=config.serving,
        environment="bench",
        keys_file=config.keys_file,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context),
            host="127.0.0.1",
            port=config.port,
            log_level="warning",
            access_log=False,
        )
    )
    freeze_startup_objects()
    _report(
        ready=config.port,
        latest=latest.isoformat(),
        events=config.events,
        parts=_active_parts(client, config.clickhouse.database),
    )
    server.run()


if __name__ == "__main__":
    main(sys.argv[1])
