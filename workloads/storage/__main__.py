"""Apply the migrations to ClickHouse servers: what the cluster's migrations Job runs.

`python -m workloads.storage` reads the stack's `clickhouse` settings section as JSON
from $RTAP_CLICKHOUSE_SETTINGS (its `dsn` names the server, its `cluster` switches on
Replicated engines and ON CLUSTER) and the password from $CLICKHOUSE_PASSWORD, which the
Job takes from a Secret. Exits non-zero, naming the migration, if one fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import clickhouse_connect
import structlog

from workloads.storage.migrate import MigrationError, MigrationRunner
from workloads.storage.settings import ClickHouseSettings

log = structlog.get_logger(__name__)


def main(environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get("RTAP_CLICKHOUSE_SETTINGS")
    if not raw:
        log.error("RTAP_CLICKHOUSE_SETTINGS is not set: pass the clickhouse settings as JSON")
        return 2
    settings = ClickHouseSettings.model_validate_json(raw)
    if not settings.dsn:
        log.error("the clickhouse settings carry no dsn: this command targets servers")
        return 2
    client: Any = clickhouse_connect.get_client(
        dsn=settings.dsn, password=environ.get("CLICKHOUSE_PASSWORD", "")
    )
    try:
        applied = MigrationRunner(client, settings).apply()
    except MigrationError as exc:
        log.error("migration failed", error=str(exc))
        return 1
    log.info("migrations up to date", applied=applied, cluster=settings.cluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
