"""The query benchmark: how the uncached latency of each dashboard query class grows
with the events stored (`rtap bench query`).

For each store size, the API runs alone over a store of its own, seeded through the
same materialized views as the pipeline's (loadtests/api_server.py). One client asks
one question at a time, so a latency is the query's own, with no queueing. Before each
request the data version is bumped, so the answer comes from ClickHouse; an answer that
says otherwise is asked again, and never counted. Figures are reported, never asserted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from loadtests.api_target import BenchServer
from loadtests.errors import BenchmarkError
from loadtests.history import history_row
from workloads.storage.data_version import DataVersion

# The dashboard's panels and its drill-downs, with the spans the dashboard asks for.
QUERY_CLASSES = (
    "counts",
    "top-types",
    "distinct-users",
    "freshness",
    "user-events",
    "user-sessions",
)
TARGET_P95_MS = 50.0
# The seeded history spans 24 hours; windows end within its last 23 so each is full.
_WINDOW_END_SPREAD_MINUTES = 23 * 60
# How often one request may come back cached (the API not yet told of the new version).
_MAX_CACHED_RETRIES = 200


@dataclass(frozen=True)
class QueryRequest:
    path: str
    params: dict[str, Any]


def _window(rng: random.Random, latest: datetime, span: timedelta) -> dict[str, str]:
    newest_end = latest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = newest_end - timedelta(minutes=rng.randrange(_WINDOW_END_SPREAD_MINUTES))
    return {"start": (end - span).isoformat(), "end": end.isoformat()}


def query_request(name: str, rng: random.Random, latest: datetime, users: int) -> QueryRequest:
    """One question of class `name`: windows at random places in the seeded history,
    users at random among the seeded ones (workloads/storage/synthetic.py's ids)."""
    hour, half_hour = timedelta(hours=1), timedelta(minutes=30)
    user = f"user-{rng.randrange(users)}"
    makers: dict[str, Callable[[], QueryRequest]] = {
        "counts": lambda: QueryRequest(
            "/v1/events/counts", {"granularity": "minute", **_window(rng, latest, half_hour)}
        ),
        "top-types": lambda: QueryRequest(
            "/v1/events/top-types", {"limit": 6, **_window(rng, latest, hour)}
        ),
        "distinct-users": lambda: QueryRequest(
            "/v1/events/distinct-users", _window(rng, latest, hour)
        ),
        "freshness": lambda: QueryRequest("/v1/events/freshness", {}),
        "user-events": lambda: QueryRequest(
            f"/v1/users/{user}/events", {"limit": 20, **_window(rng, latest, hour)}
        ),
        "user-sessions": lambda: QueryRequest(f"/v1/users/{user}/sessions", {"limit": 10}),
    }
    if name not in makers:
        raise ValueError(f"unknown query class {name!r}; known: {', '.join(QUERY_CLASSES)}")
    return makers[name]()


class UncachedAsker:
    """Asks the API one question at a time, each after a data-version bump, and times
    the answers that ClickHouse computed."""

    def __init__(self, http: httpx.Client, bump_version: Callable[[], int | None]) -> None:
        self._http = http
        self._bump_version = bump_version
        self.cached_retries = 0

    @classmethod
    def of(cls, server: BenchServer) -> UncachedAsker:
        http = httpx.Client(base_url=server.base_url, headers={"X-API-Key": server.key}, timeout=60)
        return cls(http, DataVersion(server.redis).bump)

    def close(self) -> None:
        self._http.close()

    def latency_ms(self, request: QueryRequest) -> float:
        version = self._bump_version()
        if version is None:
            raise BenchmarkError("the benchmark's redis-server did not take the version bump")
        for _ in range(_MAX_CACHED_RETRIES):
            started = time.perf_counter()
            response = self._http.get(request.path, params=request.params)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response.status_code != httpx.codes.OK:
                raise BenchmarkError(
                    f"{request.path} answered {response.status_code}: {response.text[:200]}"
                )
            meta = response.json()["meta"]
            if meta["cache"] == "miss" and meta["data_version"] == version:
                return elapsed_ms
            # The API learns versions over pub/sub; this answer came from before the bump.
            self.cached_retries += 1
            time.sleep(0.005)
        raise BenchmarkError(f"{request.path} never missed the cache after a version bump")


def measure_store(
    asker: UncachedAsker,
    server: BenchServer,
    *,
    users: int,
    repeats: int,
    warmup: int,
    seed: int = 7,
) -> dict[str, list[float]]:
    """Latencies (ms) per query class: `warmup` unmeasured rounds, then `repeats` rounds
    of every class in turn, so that a slow moment of the machine spreads over all."""
    rng = random.Random(seed)
    latencies: dict[str, list[float]] = {name: [] for name in QUERY_CLASSES}
    for round_number in range(warmup + repeats):
        for name in QUERY_CLASSES:
            latency = asker.latency_ms(query_request(name, rng, server.latest, users))
            if round_number >= warmup:
                latencies[name].append(latency)
    return latencies


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50/p95/p99 and the maximum, in ms, of one class's latencies."""
    if not latencies:
        raise ValueError("no latencies to summarise")
    values = np.asarray(latencies)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "max_ms": float(values.max()),
        "requests": len(latencies),
    }


def store_summary(
    events: int, latencies: dict[str, list[float]], parts: dict[str, int]
) -> dict[str, Any]:
    """One store's figures: per class, its percentiles; the store's parts per table."""
    classes = {name: percentiles(values) for name, values in latencies.items()}
    slowest = max(classes, key=lambda name: classes[name]["p95_ms"])
    return {
        "stored_events": events,
        "parts": parts,
        "classes": classes,
        "slowest_class": slowest,
        "slowest_p95_ms": classes[slowest]["p95_ms"],
    }


def query_row(project_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """The history row of a run: each store's p95 per class, rounded to 0.1 ms."""
    figures: dict[str, Any] = {"target_p95_ms": summary["target_p95_ms"]}
    for store in summary["stores"]:
        events = store["stored_events"]
        for name, figure in store["classes"].items():
            figures[f"{events}_{name}_p95_ms"] = round(figure["p95_ms"], 1)
    return history_row("query", project_dir, figures)
