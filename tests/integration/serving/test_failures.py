"""Failure behaviour, security and bad input, on real ClickHouse and redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import jwt
import pytest
import redis
from fastapi.testclient import TestClient

from rtap.local.processes.registry import wait_until
from tests.integration.serving.conftest import JWT_SECRET, Offline
from workloads.serving.app import create_app
from workloads.serving.auth import Scope
from workloads.storage.data_version import DataVersion

pytestmark = pytest.mark.integration

COUNTS = "/v1/events/counts"


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, so killing it spares the platform's."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        try:
            return bool(redis.Redis.from_url(url).ping())
        except redis.ConnectionError:
            return False

    def alive() -> bool:
        return server.poll() is None

    try:
        wait_until(answers, 10, f"redis-server on port {port}", 0.05, alive)
        yield url, server
    finally:
        server.kill()
        server.wait()


def test_redis_killed_mid_test_answers_stay_200(
    offline: Offline, own_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, server = own_redis
    context = offline.context(redis_url=url)
    # A fixed window: the default one ends at the next minute, and a cache key that
    # moved on mid-test would turn the expected hit into a miss.
    span = offline.span()
    with offline.client(create_app(context)) as api:
        assert api.get(COUNTS, params=span).json()["meta"]["cache"] == "miss"
        assert api.get(COUNTS, params=span).json()["meta"]["cache"] == "hit"
        server.kill()
        server.wait()
        paths = (COUNTS, "/v1/events/top-types")
        right_after = [api.get(path, params=span) for path in paths * 5]
        assert [a.status_code for a in right_after] == [200] * 10
        # Once the data-version feed notices, answers no longer rely on Redis.
        cache = context.cache
        assert cache is not None
        wait_until(lambda: cache.pushed_version is None, 5, "the feed notices Redis is gone")
        answers = [api.get(path, params=span) for path in (*paths, COUNTS) * 5]
        assert [a.status_code for a in answers] == [200] * 15
        assert {a.json()["meta"]["cache"] for a in answers} == {"bypass"}
        ready = api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"] == {
            "clickhouse": True,
            "redis": False,
        }


def test_clickhouse_unavailable_gives_503_or_the_stale_answer(offline: Offline) -> None:
    context = offline.context()
    span = offline.span()  # fixed, so the last good answer's key stays put
    with offline.client(create_app(context)) as api:
        fresh = api.get("/v1/events/top-types", params={**span, "limit": 4})
        assert fresh.status_code == 200
        # A batch commits, then the query path is cut: the current version has no answer.
        bumped = DataVersion(redis.Redis.from_url(offline.redis_url)).bump()
        # Answers held in this process follow the version pushed over pub/sub, which
        # trails the bump by its delivery; until then they are rightly still served.
        assert context.cache is not None and bumped is not None
        cache = context.cache
        wait_until(lambda: cache.pushed_version == bumped, 5, "the bump reaches the app")
        context.clickhouse.unavailable = True
        try:
            stale = api.get("/v1/events/top-types", params={**span, "limit": 4})
            never_cached = api.get("/v1/events/top-types", params={**span, "limit": 5})
            ready = api.get("/readyz")
        finally:
            context.clickhouse.unavailable = False
        assert stale.status_code == 200
        assert stale.json()["meta"] == {**stale.json()["meta"], "cache": "stale", "stale": True}
        assert stale.json()["data"] == fresh.json()["data"]
        assert "Warning" in stale.headers
        assert never_cached.status_code == 503
        assert never_cached.headers["Retry-After"] == "5"
        assert never_cached.json()["error"] == "unavailable"
        assert ready.status_code == 503 and ready.json()["checks"]["clickhouse"] is False
        assert api.get("/v1/events/top-types", params={**span, "limit": 5}).status_code == 200


def test_credentials_and_scopes(offline: Offline, api: TestClient) -> None:
    no_key = offline.client(api.app, key="")  # type: ignore[arg-type]
    assert no_key.get(COUNTS).status_code == 401
    assert (
        no_key.post("/graphql", json={"query": "{ freshness { lagSeconds } }"}).status_code == 401
    )
    assert api.get(COUNTS, headers={"X-API-Key": "rtap_nope_nope"}).status_code == 401
    events_only = offline.client(api.app, key=offline.events_key)  # type: ignore[arg-type]
    assert events_only.get(COUNTS).status_code == 200
    forbidden = events_only.get("/v1/users/top")
    assert forbidden.status_code == 403 and forbidden.json()["scope"] == "users:read"
    user_query = '{ userSessions(userId: "u1") { items { events } } }'
    denied = events_only.post("/graphql", json={"query": user_query})
    assert denied.status_code == 403

    token = jwt.encode(
        {"sub": "svc", "aud": "rtap", "exp": time.time() + 60, "scope": "events:read"},
        JWT_SECRET,
    )
    bearer = {"X-API-Key": "", "Authorization": f"Bearer {token}"}
    assert api.get(COUNTS, headers=bearer).status_code == 200
    assert api.get("/v1/users/top", headers=bearer).status_code == 403

    record, revoked = offline.keys.create("soon revoked", [])
    offline.keys.revoke(record.key_id)
    time.sleep(1.1)  # the running app rereads the key file at most once a second
    assert api.get(COUNTS, headers={"X-API-Key": revoked}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(offline: Offline) -> None:
    # A key of its own: the limit counts per key, in Redis, across app instances.
    _, key = offline.keys.create("rate limited", [Scope.EVENTS_READ])
    _outside_the_end_of_a_minute()
    app = create_app(offline.context(rate_limit_per_minute=5))
    with offline.client(app, key=key) as api:
        statuses = [api.get("/v1/events/freshness").status_code for _ in range(5)]
        limited = api.get("/v1/events/freshness")
    assert statuses == [200] * 5
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_replicas_share_the_rate_limit_through_redis(offline: Offline) -> None:
    _, key = offline.keys.create("shared limit", [Scope.EVENTS_READ])
    _outside_the_end_of_a_minute()
    first_context = offline.context(rate_limit_per_minute=5, rate_limit_sync_seconds=10)
    second_context = offline.context(rate_limit_per_minute=5, rate_limit_sync_seconds=10)
    # The test drives the syncs itself, in a known order; a background one in between
    # would take the shared total before the other replica pushed its hits.
    first_context.rate_limiter.stop()
    second_context.rate_limiter.stop()
    first, second = create_app(first_context), create_app(second_context)
    with offline.client(first, key=key) as one, offline.client(second, key=key) as two:
        assert [one.get("/v1/events/freshness").status_code for _ in range(3)] == [200] * 3
        assert two.get("/v1/events/freshness").status_code == 200
        # What the background syncs do every interval, done now in a known order: each
        # replica pushes its hits to Redis and reads back the shared total (4).
        first_context.rate_limiter.sync()
        second_context.rate_limiter.sync()
        statuses = [two.get("/v1/events/freshness").status_code for _ in range(2)]
    assert statuses == [200, 429]  # the fifth admitted, the sixth refused


def _outside_the_end_of_a_minute() -> None:
    """Limits count per calendar minute: a window ending mid-test would reset them."""
    remaining = 60 - time.time() % 60
    if remaining < 10:
        time.sleep(remaining + 0.5)
