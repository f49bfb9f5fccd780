"""Apply the migrations to ClickHouse servers: what the cluster's migrations Job runs.

`python -m workloads.storage` reads the stack settings from $RTAP_SETTINGS_FILE (their
`clickhouse.cluster` switches on Replicated engines and ON CLUSTER) and the server from
$CLICKHOUSE_DSN, with $CLICKHOUSE_PASSWORD from a Secret. Exits non-zero, naming the
problem, if a variable is missing or a migration fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import clickhouse_connect
import structlog

from core.logs import configure_logging
from core.settings import SettingsError
from workloads.cluster_env import MissingVariableError, mounted_settings, required
from workloads.storage.migrate import MigrationError, MigrationRunner

log = structlog.get_logger(__name__)


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        settings = mounted_settings(environ).clickhouse
        dsn = required(environ, "CLICKHOUSE_DSN")
    except (MissingVariableError, SettingsError) as exc:
        log.error("cannot run the migrations", error=str(exc))
        return 2
    client: Any = clickhouse_connect.get_client(
        dsn=dsn, password=environ.get("CLICKHOUSE_PASSWORD", "")
    )
    try:
        applied = MigrationRunner(client, settings).apply()
    except MigrationError as exc:
        log.error("migration failed", error=str(exc))
        return 1
    log.info("migrations up to date", applied=applied, cluster=settings.cluster)
    return 0


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
