"""Rate limits counted in process (the part that needs no Redis)."""

from __future__ import annotations

from workloads.serving.ratelimit import RateLimiter
from workloads.serving.settings import ServingSettings


def test_callers_are_held_to_the_limit_each_on_their_own() -> None:
    limiter = RateLimiter(None, ServingSettings(rate_limit_per_minute=3))
    assert [limiter.retry_after("key:a") for _ in range(3)] == [None, None, None]
    retry = limiter.retry_after("key:a")
    assert retry is not None and 1 <= retry <= 60
    assert limiter.retry_after("key:b") is None  # another caller has its own window
