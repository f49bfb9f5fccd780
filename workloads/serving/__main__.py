"""The API as its cluster Deployment runs it: `python -m workloads.serving`.

Reads the stack settings from $RTAP_SETTINGS_FILE and everything else from the
environment (workloads/cluster_env.py), connects to the ClickHouse servers as the
read-only user and to Redis through its Sentinels, and serves on 0.0.0.0:$PORT (8080).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import clickhouse_connect
import structlog
import uvicorn

from core.logs import configure_logging
from core.settings import SettingsError
from workloads.cluster_env import MissingVariableError, mounted_settings, redis_url, required
from workloads.serving.app import create_app
from workloads.serving.bootstrap import build_context

log = structlog.get_logger(__name__)


def build_app(environ: Mapping[str, str]) -> Any:
    settings = mounted_settings(environ)
    clickhouse_clients: list[Any] = [
        clickhouse_connect.get_client(
            dsn=required(environ, "CLICKHOUSE_DSN"),
            password=environ.get("CLICKHOUSE_PASSWORD", ""),
        )
        for _ in range(settings.serving.clickhouse_connections)
    ]
    context = build_context(
        clickhouse_clients=clickhouse_clients,
        database=settings.clickhouse.database,
        redis_url=redis_url(environ),
        settings=settings.serving,
        environment=settings.environment,
        keys_file=Path(required(environ, "RTAP_KEYS_FILE")),
        jwt_secret=environ.get("RTAP_JWT_SECRET"),
    )
    return create_app(context)


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        app = build_app(environ)
    except (MissingVariableError, SettingsError) as exc:
        log.error("cannot start the API", error=str(exc))
        return 2
    # All interfaces: the pod's IP is what the Service routes to.
    host = environ.get("HOST", "0.0.0.0")  # noqa: S104
    uvicorn.run(app, host=host, port=int(environ.get("PORT", "8080")), log_config=None)
    return 0


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
