"""Opening ClickHouse: the embedded chDB engine locally, servers in clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import clickhouse_connect

from workloads.storage.settings import ClickHouseSettings


def connect(settings: ClickHouseSettings, data_dir: Path) -> Any:
    """A clickhouse-connect client; the DSN is the only difference between the two.

    chDB allows one engine per process and per data directory, so the process that calls
    this owns the embedded engine until it exits.
    """
    if settings.dsn:
        return clickhouse_connect.get_client(dsn=settings.dsn)
    data_dir.mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=f"chdb://{data_dir.resolve()}")


def connect_many(settings: ClickHouseSettings, data_dir: Path, count: int) -> list[Any]:
    """`count` clients of one ClickHouse, for callers that query from several threads.

    Each one runs a query at a time: in this process every chDB client is a handle of its
    own on the one engine, and a server's clients each hold an HTTP session of their own.
    """
    return [connect(settings, data_dir) for _ in range(count)]
