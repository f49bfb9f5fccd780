"""The API benchmark's requests and its history row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from loadtests.api import api_row, dashboard_targets, uncached_targets

LATEST = datetime(2026, 11, 26, 7, 35, 42, tzinfo=UTC)


def test_the_dashboard_makes_four_requests_with_the_key() -> None:
    targets = dashboard_targets(LATEST, "rtap_k_s")
    assert [urlsplit(t.path).path for t in targets] == [
        "/v1/events/counts",
        "/v1/events/top-types",
        "/v1/events/distinct-users",
        "/v1/events/freshness",
    ]
    assert all(t.headers == {"X-API-Key": "rtap_k_s"} for t in targets)
    counts = parse_qs(urlsplit(targets[0].path).query)
    assert counts["end"] == ["2026-11-26T07:36:00+00:00"]  # the minute after the latest event


def test_every_uncached_request_is_a_different_query() -> None:
    targets = uncached_targets(LATEST, "k", 300)
    assert len(targets) == 300
    assert len({t.path for t in targets}) == 300


def test_a_row_carries_rates_latencies_and_the_speed_up() -> None:
    def run(rate: int, achieved: float, p50: float) -> dict[str, object]:
        latency = {"p50_ms": p50, "p95_ms": p50 * 2.04, "p99_ms": p50 * 3}
        return {"rate": rate, "throughput_rps": achieved, "latency_ms": latency}

    summary = {
        "stored_events": 10_000_000,
        "cached": run(2000, 1999.6, 0.7),
        "uncached": run(10, 10.01, 9.5),
        "speedup_p50": 13.57,
        "speedup_p95": 18.2,
    }
    figures = api_row(Path("."), summary)["figures"]
    assert figures == {
        "stored_events": 10_000_000,
        "cached_offered_rps": 2000,
        "cached_rps": 2000,
        "cached_p50_ms": 0.7,
        "cached_p95_ms": 1.4,
        "cached_p99_ms": 2.1,
        "uncached_offered_rps": 10,
        "uncached_rps": 10,
        "uncached_p50_ms": 9.5,
        "uncached_p95_ms": 19.4,
        "uncached_p99_ms": 28.5,
        "speedup_p50": 14,
        "speedup_p95": 18,
    }
