"""API answers equal direct ClickHouse queries over the pipeline's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.serving.conftest import Offline

pytestmark = pytest.mark.integration


def _data(api: TestClient, path: str, **params: Any) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_event_counts_equal_counts_over_raw_events(api: TestClient, offline: Offline) -> None:
    span = offline.span()
    points = _data(api, "/v1/events/counts", granularity="minute", **span)["points"]
    expected = offline.sql(
        "SELECT toStartOfMinute(event_time), event_type, count(), sum(value) "
        "FROM {db:Identifier}.events_raw FINAL GROUP BY 1, 2 ORDER BY 1, 2"
    )
    got = [
        (datetime.fromisoformat(p["bucket"]), p["event_type"], p["events"], p["value_sum"])
        for p in points
    ]
    assert len(got) == len(expected) > 10
    for (bucket, kind, events, value), (e_bucket, e_kind, e_events, e_value) in zip(
        got, expected, strict=True
    ):
        assert (bucket, kind, events) == (e_bucket.replace(tzinfo=UTC), e_kind, e_events)
        assert value == pytest.approx(e_value, rel=1e-9)


def test_hourly_and_daily_buckets_add_up_to_the_same_total(
    api: TestClient, offline: Offline
) -> None:
    span = offline.span()
    (total,) = offline.sql("SELECT count() FROM {db:Identifier}.events_raw FINAL")[0]
    for granularity in ("minute", "hour", "day"):
        points = _data(api, "/v1/events/counts", granularity=granularity, **span)["points"]
        assert sum(p["events"] for p in points) == total


def test_top_event_types_and_distinct_users(api: TestClient, offline: Offline) -> None:
    span = offline.span()
    top = _data(api, "/v1/events/top-types", limit=3, **span)["items"]
    expected = offline.sql(
        "SELECT event_type, count() AS n FROM {db:Identifier}.events_raw FINAL "
        "GROUP BY event_type ORDER BY n DESC, event_type LIMIT 3"
    )
    assert [(i["event_type"], i["events"]) for i in top] == expected

    users = _data(api, "/v1/events/distinct-users", event_type="click", **span)["users"]
    (exact,) = offline.sql(
        "SELECT uniqExact(user_id) FROM {db:Identifier}.events_raw WHERE event_type = 'click'"
    )[0]
    assert users == pytest.approx(exact, rel=0.02)


def test_top_users_pages_walk_the_exact_ranking(api: TestClient, offline: Offline) -> None:
    span = offline.span()
    ranking: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        # 997 (an odd size, under maxLimit): pages end inside runs of tied counts, and
        # the walk over the suite's ~50,000 users takes about 50 queries, not 500.
        params = {"limit": 997, **span, **({"cursor": cursor} if cursor else {})}
        page = _data(api, "/v1/users/top", **params)
        ranking += [(i["user_id"], i["events"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = offline.sql(
        "SELECT user_id, count() AS n FROM {db:Identifier}.events_raw "
        "WHERE event_time >= {start:DateTime64(3)} AND event_time < {end:DateTime64(3)} "
        "GROUP BY user_id ORDER BY n DESC, user_id",
        start=datetime.fromisoformat(span["start"]),
        end=datetime.fromisoformat(span["end"]),
    )
    assert ranking == [(u, n) for u, n in expected]
    assert len(ranking) > 997  # more than one page was walked


def test_one_users_events_and_sessions(api: TestClient, offline: Offline) -> None:
    span = offline.span()
    user, count = offline.sql(
        "SELECT user_id, count() AS n FROM {db:Identifier}.events_raw "
        "GROUP BY user_id ORDER BY n DESC, user_id LIMIT 1"
    )[0]
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 25, **span, **({"cursor": cursor} if cursor else {})}
        page = _data(api, f"/v1/users/{user}/events", **params)
        ids += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = offline.sql(
        "SELECT toString(event_id) FROM {db:Identifier}.events_raw WHERE user_id = {u:String} "
        "ORDER BY event_time DESC, event_id DESC",
        u=user,
    )
    assert ids == [row[0] for row in expected] and len(ids) == count

    sessions = _data(api, f"/v1/users/{user}/sessions", limit=1000)["items"]
    expected_sessions = offline.sql(
        "SELECT count(DISTINCT session_start) FROM {db:Identifier}.user_sessions "
        "WHERE user_id = {u:String}",
        u=user,
    )[0][0]
    assert len(sessions) == expected_sessions


def test_funnel_equals_window_funnel(api: TestClient, offline: Offline) -> None:
    span = offline.span()
    steps = ["page_view", "click", "add_to_cart"]
    funnel = _data(api, "/v1/funnel", steps=steps, window_seconds=600, **span)["steps"]
    levels = dict(
        offline.sql(
            "SELECT level, count() FROM (SELECT user_id, windowFunnel(600)(toDateTime(event_time), "
            "event_type = 'page_view', event_type = 'click', event_type = 'add_to_cart') AS level "
            "FROM {db:Identifier}.events_raw GROUP BY user_id) GROUP BY level"
        )
    )
    expected = [sum(n for level, n in levels.items() if level > i) for i in range(3)]
    assert [s["users"] for s in funnel] == expected
    assert expected[0] >= expected[1] >= expected[2] > 0


def test_freshness_is_the_latest_stored_event(api: TestClient, offline: Offline) -> None:
    fresh = _data(api, "/v1/events/freshness")
    (latest,) = offline.sql("SELECT max(event_time) FROM {db:Identifier}.events_raw")[0]
    assert datetime.fromisoformat(fresh["latest_event_time"]) == latest.replace(tzinfo=UTC)
    assert fresh["lag_seconds"] >= 0


def test_graphql_and_rest_agree(api: TestClient, offline: Offline) -> None:
    span = offline.span()
    rest = _data(api, "/v1/events/top-types", limit=6, **span)["items"]
    query = (
        "query($s: DateTime, $e: DateTime) { topEventTypes(start: $s, end: $e, limit: 6) "
        "{ items { eventType events } } }"
    )
    response = api.post(
        "/graphql", json={"query": query, "variables": {"s": span["start"], "e": span["end"]}}
    )
    assert response.status_code == 200, response.text
    items = response.json()["data"]["topEventTypes"]["items"]
    assert [(i["eventType"].lower(), i["events"]) for i in items] == [
        (r["event_type"], r["events"]) for r in rest
    ]
