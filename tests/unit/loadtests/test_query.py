"""The query benchmark's questions, its uncached asking, its summary and history row."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from loadtests.errors import BenchmarkError
from loadtests.query import (
    QUERY_CLASSES,
    QueryRequest,
    UncachedAsker,
    percentiles,
    query_request,
    query_row,
    store_summary,
)

LATEST = datetime(2026, 12, 2, 18, 30, 17, tzinfo=UTC)
SEEDED_FROM = LATEST - timedelta(hours=24)


def test_every_window_lies_inside_the_seeded_day_with_the_dashboard_span() -> None:
    rng = random.Random(1)
    spans = {"counts": timedelta(minutes=30), "top-types": timedelta(hours=1)}
    for name, span in {**spans, "distinct-users": timedelta(hours=1)}.items():
        for _ in range(200):
            params = query_request(name, rng, LATEST, 1000).params
            start, end = (datetime.fromisoformat(params[k]) for k in ("start", "end"))
            assert end - start == span
            assert start >= SEEDED_FROM
            assert end <= LATEST + timedelta(minutes=1)


def test_questions_spread_over_windows_and_seeded_users() -> None:
    rng = random.Random(2)
    ends = {query_request("counts", rng, LATEST, 50).params["end"] for _ in range(100)}
    paths = {query_request("user-events", rng, LATEST, 50).path for _ in range(300)}
    assert len(ends) > 50
    assert paths <= {f"/v1/users/user-{n}/events" for n in range(50)}
    assert len(paths) > 40


def test_every_class_has_a_question_and_an_unknown_one_is_named() -> None:
    rng = random.Random(3)
    paths = [query_request(name, rng, LATEST, 10).path for name in QUERY_CLASSES]
    assert all(path.startswith("/v1/") for path in paths)
    with pytest.raises(ValueError, match="'funnels'"):
        query_request("funnels", rng, LATEST, 10)


def _asker(answers: list[tuple[str, int]], status: int = 200) -> UncachedAsker:
    """An asker whose API answers (cache, data_version) in turn; the bump returns 8."""
    pending = list(answers)

    def handle(_: httpx.Request) -> httpx.Response:
        cache, version = pending.pop(0)
        return httpx.Response(status, json={"meta": {"cache": cache, "data_version": version}})

    http = httpx.Client(transport=httpx.MockTransport(handle), base_url="http://api")
    return UncachedAsker(http, lambda: 8)


def test_answers_from_before_the_bump_are_asked_again_and_not_counted() -> None:
    asker = _asker([("hit", 7), ("miss", 7), ("hit", 8), ("miss", 8)])
    assert asker.latency_ms(QueryRequest("/v1/events/freshness", {})) >= 0
    assert asker.cached_retries == 3


def test_an_error_answer_stops_the_benchmark_with_its_status() -> None:
    asker = _asker([("miss", 8)], status=503)
    with pytest.raises(BenchmarkError, match="503"):
        asker.latency_ms(QueryRequest("/v1/events/counts", {}))


def test_a_failed_version_bump_is_an_error() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    with pytest.raises(BenchmarkError, match="version bump"):
        UncachedAsker(http, lambda: None).latency_ms(QueryRequest("/v1/events/counts", {}))


def test_percentiles_of_a_tail_that_the_median_hides() -> None:
    figures = percentiles([10.0] * 95 + [200.0] * 5)
    assert figures["p50_ms"] == 10.0
    assert figures["p99_ms"] == pytest.approx(200.0)
    assert figures["max_ms"] == 200.0
    assert figures["requests"] == 100
    with pytest.raises(ValueError, match="no latencies"):
        percentiles([])


def test_a_store_names_its_slowest_class_and_the_row_keys_by_size() -> None:
    latencies = {name: [float(i + 1)] * 20 for i, name in enumerate(QUERY_CLASSES)}
    store = store_summary(1_000_000, latencies, {"events_raw": 3})
    assert store["slowest_class"] == QUERY_CLASSES[-1]
    assert store["slowest_p95_ms"] == float(len(QUERY_CLASSES))
    row = query_row(Path("."), {"target_p95_ms": 50.0, "stores": [store]})
    assert row["benchmark"] == "query"
    assert row["figures"]["1000000_counts_p95_ms"] == 1.0
    assert row["figures"]["target_p95_ms"] == 50.0
