"""The serving API alone, over a chDB directory of its own: what `rtap bench api` measures.

Run as `python -m loadtests.api_server CONFIG.json`. It applies the migrations, seeds
synthetic history when the store does not hold the requested number of events yet,
then serves with uvicorn. It reports to its parent on stdout, one JSON object per line
(`{"seeded": n, "total": N}` while seeding, then `{"ready": ..., "latest": ...}`).
"""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
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
from workloads.storage.client import connect
from workloads.storage.migrate import MigrationRunner
from workloads.storage.settings import ClickHouseSettings
from workloads.storage.synthetic import seed_events
from workloads.storage.verification import count_events

log = structlog.get_logger(__name__)

SEED_SPAN_SECONDS = 86_400


class ApiServerConfig(BaseModel):
    data_dir: Path
    log_file: Path
    keys_file: Path
    redis_url: str
    port: int
    events: int
    users: int
    event_mix: dict[EventType, float]
    clickhouse: ClickHouseSettings
    serving: ServingSettings


def _report(**message: Any) -> None:
    # The parent process reads these lines; this is a protocol, not logging.
    sys.stdout.write(orjson.dumps(message).decode() + "\n")
    sys.stdout.flush()


def _ensure_history(client: Any, config: ApiServerConfig) -> datetime:
    """Seed `config.events` events unless exactly that many are stored; the latest time."""
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
    latest: datetime = client.query(
        "SELECT max(event_time) FROM {db:Identifier}.events_raw", parameters={"db": database}
    ).result_rows[0][0]
    return latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest.astimezone(UTC)


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
        clickhouse=client,
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
    _report(ready=config.port, latest=latest.isoformat(), events=config.events)
    server.run()


if __name__ == "__main__":
    main(sys.argv[1])
