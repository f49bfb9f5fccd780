"""The local platform's Redis exporter: the series of redis_exporter (oliver006, which
the cluster runs beside each Redis pod) that rtap's alerts use, read from INFO at each
scrape. redis_exporter itself is not served by the Go module proxy, so the local
platform runs this instead, against the real redis-server.

Run as `python -m rtap.local.platform.redis_exporter PORT`, with REDIS_URL in the environment.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.logs import configure_logging

# INFO fields published as redis_exporter names them (redis_<field>).
_GAUGES = ("connected_clients", "connected_slaves", "uptime_in_seconds", "used_memory")


class RedisInfoCollector(Collector):
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            info: dict[str, Any] = self._client.info()
        except redis.RedisError:
            info = {}
        yield GaugeMetricFamily("redis_up", "Whether Redis answered INFO.", value=1 if info else 0)
        for field in _GAUGES:
            if field in info:
                name = "redis_memory_used_bytes" if field == "used_memory" else f"redis_{field}"
                yield GaugeMetricFamily(name, f"INFO {field}.", value=float(info[field]))
        if info.get("role") == "slave":
            up = 1 if info.get("master_link_status") == "up" else 0
            yield GaugeMetricFamily(
                "redis_master_link_up", "Whether the replica's link to its primary is up.", value=up
            )


def main(argv: list[str]) -> int:
    configure_logging()
    registry = CollectorRegistry()
    client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=1)
    registry.register(RedisInfoCollector(client))
    start_http_server(int(argv[1]), addr="127.0.0.1", registry=registry)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
