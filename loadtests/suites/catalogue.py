"""What the load test's users ask the API: a dashboard's panel queries and the
drill-downs from them, over REST and GraphQL, with the spread of parameters real
viewers make (time ranges, users). Pure: each request is data, sent by the Locust users
in loadtests/suites/api_users.py.

Ranges end on the current minute, as the dashboard's do, so that viewers of one panel
share its cache entry; spans vary from 15 minutes to a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loadtests.sla_gate import request_name

# (span, weight): most viewers look at the last half hour or hour; some at a day.
SPANS: tuple[tuple[timedelta, int], ...] = (
    (timedelta(minutes=15), 2),
    (timedelta(minutes=30), 4),
    (timedelta(hours=1), 3),
    (timedelta(hours=6), 1),
    (timedelta(hours=24), 1),
)
GRAPHQL_PATH = "/graphql"
_PANELS_QUERY = """query Panels($start: DateTime!, $end: DateTime!) {
  eventCounts(start: $start, end: $end, granularity: MINUTE) { points { bucket eventType events } }
  topEventTypes(start: $start, end: $end, limit: 6) { items { eventType events } }
  distinctUsers(start: $start, end: $end) { users }
  freshness { lagSeconds }
}"""
_USER_QUERY = """query User($userId: String!) {
  userEvents(userId: $userId, limit: 20) { items { eventId eventType eventTime } }
  userSessions(userId: $userId, limit: 10) { items { sessionStart events } }
}"""


@dataclass(frozen=True)
class ApiRequest:
    group: str
    endpoint: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    # A GraphQL request's body; REST requests are GETs with `params`.
    graphql: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return request_name(self.group, self.endpoint)


@dataclass(frozen=True)
class Viewers:
    """Who looks: the users whose events exist (the producer's ids) and the clock."""

    users: int
    rng: random.Random

    def user_id(self) -> str:
        # The synthetic producer's ids (workloads/producer/generator.py).
        return f"u{self.rng.randrange(self.users):07d}"

    def window(self, now: datetime | None = None) -> tuple[str, str]:
        end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        span = self.rng.choices([s for s, _ in SPANS], [w for _, w in SPANS])[0]
        return (end - span).isoformat(), end.isoformat()


def dashboard_page(viewers: Viewers) -> list[ApiRequest]:
    """The four requests one load of the dashboard makes, over one range."""
    start, end = viewers.window()
    return [
        ApiRequest(
            "dashboard",
            "counts",
            "/v1/events/counts",
            {"granularity": "minute", "start": start, "end": end},
        ),
        ApiRequest("dashboard", "top-types", "/v1/events/top-types", {"limit": 6, "start": start}),
        ApiRequest("dashboard", "distinct-users", "/v1/events/distinct-users", {"start": start}),
        ApiRequest("dashboard", "freshness", "/v1/events/freshness"),
    ]


def user_events(viewers: Viewers) -> ApiRequest:
    user = viewers.user_id()
    return ApiRequest("drilldown", "user-events", f"/v1/users/{user}/events", {"limit": 20})


def user_sessions(viewers: Viewers) -> ApiRequest:
    user = viewers.user_id()
    return ApiRequest("drilldown", "user-sessions", f"/v1/users/{user}/sessions", {"limit": 10})


def graphql_panels(viewers: Viewers) -> ApiRequest:
    start, end = viewers.window()
    body = {"query": _PANELS_QUERY, "variables": {"start": start, "end": end}}
    return ApiRequest("graphql", "panels", GRAPHQL_PATH, graphql=body)


def graphql_user(viewers: Viewers) -> ApiRequest:
    body = {"query": _USER_QUERY, "variables": {"userId": viewers.user_id()}}
    return ApiRequest("graphql", "user", GRAPHQL_PATH, graphql=body)


# The open model's mix, per request: (what to ask, weight). A dashboard load is four
# panel requests, one in four viewers drills down, and a quarter of traffic is GraphQL.
_OPEN_MIX: tuple[tuple[str, int], ...] = (
    ("panel", 12),
    ("user-events", 2),
    ("user-sessions", 1),
    ("gql-panels", 3),
    ("gql-user", 1),
)


def mixed_request(viewers: Viewers) -> ApiRequest:
    """One request of the open model's mix."""
    kind = viewers.rng.choices([k for k, _ in _OPEN_MIX], [w for _, w in _OPEN_MIX])[0]
    if kind == "panel":
        return viewers.rng.choice(dashboard_page(viewers))
    makers = {
        "user-events": user_events,
        "user-sessions": user_sessions,
        "gql-panels": graphql_panels,
        "gql-user": graphql_user,
    }
    return makers[kind](viewers)
