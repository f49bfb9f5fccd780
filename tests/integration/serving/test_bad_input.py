"""Bad parameters get 422 naming the field; oversized or too-deep GraphQL gets 400."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.serving.conftest import Offline
from workloads.serving.app import create_app
from workloads.serving.models import encode_cursor

pytestmark = pytest.mark.integration

T0 = "2026-11-26T10:00:00Z"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/events/counts", {"start": T0, "end": "2026-11-26T09:00:00Z"}, "end"),  # inverted
        ("/v1/events/counts", {"start": T0, "end": "2026-12-26T10:00:00Z"}, "end"),  # too long
        ("/v1/events/counts", {"granularity": "week"}, "granularity"),
        ("/v1/events/counts", {"event_type": "teleport"}, "event_type"),
        ("/v1/events/counts", {"start": "yesterday"}, "start"),
        ("/v1/events/counts", {"start": "1900-01-01T00:00:00Z"}, "start"),
        ("/v1/users/u1/events", {"end": "0001-01-01T00:00:00+01:00"}, "end"),
        ("/v1/events/top-types", {"limit": 100_000}, "limit"),
        ("/v1/events/top-types", {"limit": 0}, "limit"),
        ("/v1/users/top", {"cursor": "!!not-a-cursor!!"}, "cursor"),
        ("/v1/users/top", {"cursor": encode_cursor(["x", 3])}, "cursor"),
        ("/v1/users/u%20x/events", {}, "user_id"),
        ("/v1/users/u1/events", {"cursor": encode_cursor(["not a time", ""])}, "cursor"),
        ("/v1/users/u1/sessions", {"limit": -1}, "limit"),
        ("/v1/funnel", {"steps": ["click"]}, "steps"),
        ("/v1/funnel", {"steps": ["click", "buy"]}, "steps"),
        ("/v1/funnel", {"steps": ["click", "purchase"], "window_seconds": 0}, "window_seconds"),
    ],
)
def test_bad_parameters_get_422_naming_the_field(
    api: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert any(problem["field"].split(".")[0] == field for problem in body["fields"]), body


def _graphql(api: TestClient, query: str) -> Any:
    return api.post("/graphql", json={"query": query})


def test_graphql_too_large_or_invalid_gets_400(api: TestClient) -> None:
    many_aliases = "{ " + " ".join(f"f{i}: freshness {{ lagSeconds }}" for i in range(40)) + " }"
    many_tokens = "{ freshness { " + "lagSeconds " * 2_500 + "} }"
    huge = "{ freshness { lagSeconds } }" + " " * 20_000
    for query in (
        many_aliases,
        many_tokens,
        huge,
        "{ nope }",
        "{ freshness { lagSeconds }",  # syntax error
        "{ eventCounts(granularity: WEEK) { start } }",
    ):
        response = _graphql(api, query)
        assert response.status_code == 400, (query[:60], response.text)


def test_graphql_too_deep_gets_400(offline: Offline) -> None:
    app = create_app(offline.context(graphql_max_depth=1))
    with offline.client(app) as shallow:
        deep = shallow.post("/graphql", json={"query": "{ topEventTypes { items { events } } }"})
        fine = shallow.post("/graphql", json={"query": "{ freshness { lagSeconds } }"})
    assert deep.status_code == 400 and "depth" in deep.text
    assert fine.status_code == 200


def test_graphql_bad_arguments_name_the_field(api: TestClient) -> None:
    response = _graphql(
        api, '{ eventCounts(start: "2026-11-26T10:00:00Z", end: "2026-11-26T09:00:00Z") { start } }'
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "end" in errors[0]["message"]
    assert errors[0]["extensions"]["field"] == "end"


def test_introspection_is_on_only_for_the_local_stack(api: TestClient) -> None:
    response = _graphql(api, "{ __schema { queryType { name } } }")
    assert response.status_code == 200 and response.json()["data"]["__schema"]
