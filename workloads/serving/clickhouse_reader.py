"""Reading ClickHouse for the API: parameterized queries, a timeout and a circuit breaker."""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from typing import Any

import pybreaker
import structlog
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from workloads.serving.breaker import ConcurrentCircuitBreaker
from workloads.serving.observability import ServingMetrics
from workloads.serving.settings import ServingSettings

log = structlog.get_logger(__name__)

# ClickHouse error codes that mean "not now" rather than "wrong query".
_TRANSIENT_CODES = ("Code: 159.", "Code: 160.", "Code: 202.", "Code: 209.", "Code: 210.")


class ClickHouseUnavailableError(RuntimeError):
    """ClickHouse cannot answer now (down, timing out, or the breaker is open)."""


class ClickHouseReader:
    """Runs the query layer's SQL; every value is a bound parameter.

    Each of `clients` runs one query at a time (a chDB handle serializes its calls, and
    an HTTP client's session refuses concurrent queries), so concurrent requests take a
    client from the pool and wait only when every client is busy.

    `unavailable` lets drills and tests cut the query path on purpose, like a network
    partition between the API and ClickHouse.
    """

    def __init__(
        self, clients: Sequence[Any], settings: ServingSettings, metrics: ServingMetrics
    ) -> None:
        if not clients:
            raise ValueError("ClickHouseReader needs at least one client")
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for client in clients:
            self._idle.put(client)
        self._query_settings = {
            "max_execution_time": max(1, round(settings.clickhouse_timeout_seconds)),
            **(
                {"max_threads": settings.clickhouse_max_threads}
                if settings.clickhouse_max_threads
                else {}
            ),
        }
        self._metrics = metrics
        self._breaker = ConcurrentCircuitBreaker(
            fail_max=settings.breaker_failures,
            reset_timeout=settings.breaker_reset_seconds,
            exclude=[lambda error: not isinstance(error, ClickHouseUnavailableError)],
            name="clickhouse",
        )
        self.unavailable = False

    def rows(self, query: str, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            result: list[tuple[Any, ...]] = self._breaker.call(self._run, query, sql, parameters)
        except pybreaker.CircuitBreakerError:
            raise ClickHouseUnavailableError("ClickHouse circuit breaker is open") from None
        return result

    def ping(self) -> bool:
        try:
            self.rows("ping", "SELECT 1", {})
        except ClickHouseUnavailableError:
            return False
        return True

    def _run(self, query: str, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        if self.unavailable:
            raise ClickHouseUnavailableError("ClickHouse query path is cut (fault injected)")
        started = time.perf_counter()
        client = self._idle.get()
        try:
            result = client.query(sql, parameters=parameters, settings=self._query_settings)
        except OperationalError as error:
            raise ClickHouseUnavailableError(f"ClickHouse unreachable: {error}") from error
        except DatabaseError as error:
            if any(code in str(error) for code in _TRANSIENT_CODES):
                raise ClickHouseUnavailableError(f"ClickHouse timed out: {error}") from error
            raise
        finally:
            self._idle.put(client)
            self._metrics.clickhouse_seconds.labels(query).observe(time.perf_counter() - started)
        return list(result.result_rows)
