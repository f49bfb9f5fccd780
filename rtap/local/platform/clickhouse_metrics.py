"""The embedded ClickHouse's metrics under the names a ClickHouse server's Prometheus
endpoint (port 9363) gives them, read from the engine's system tables at each scrape:
`ClickHouseMetrics_<metric>` from system.metrics and `ClickHouseProfileEvents_<event>`
from system.events (zeros included, as the server writes them). chDB keeps no
asynchronous metrics, so `ClickHouseAsyncMetrics_*` exist only in a cluster.

Both are written untyped and without a `_total` suffix, exactly as the server names them,
so the cluster's rules read the local series unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client.core import UnknownMetricFamily
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

_TABLES = (
    ("ClickHouseMetrics_", "SELECT metric, value FROM system.metrics"),
    (
        "ClickHouseProfileEvents_",
        "SELECT event, value FROM system.events SETTINGS system_events_show_zero_values = 1",
    ),
)


# The engine shares the platform process (and its GIL) with ingest: its two thousand
# values are read at most this often, not at every 2 s scrape.
REFRESH_S = 10.0


class ClickHouseCollector(Collector):
    def __init__(self, client: Any) -> None:
        self._client = client
        self._values: list[tuple[str, float]] = []
        self._read_at = -REFRESH_S
        self._lock = threading.Lock()

    def collect(self) -> Iterator[UnknownMetricFamily]:
        for name, value in self._current():
            yield UnknownMetricFamily(name, name, value=value)

    def _current(self) -> list[tuple[str, float]]:
        with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_S:
                self._values, self._read_at = self._read(), time.monotonic()
            return self._values

    def _read(self) -> list[tuple[str, float]]:
        values: list[tuple[str, float]] = []
        for prefix, sql in _TABLES:
            try:
                rows = self._client.query(sql).result_rows
            except Exception as exc:  # noqa: BLE001 - a scrape must not break on the engine
                log.warning("cannot read ClickHouse metrics", query=sql, error=str(exc))
                continue
            values += [(f"{prefix}{name}", float(value)) for name, value in rows]
        return values
