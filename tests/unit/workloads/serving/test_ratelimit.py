"""Rate limits counted in process (the part that needs no Redis)."""

from __future__ import annotations

import threading
import time

from workloads.serving.ratelimit import RateLimiter
from workloads.serving.settings import ServingSettings


def _clear_of_a_window_boundary(margin_s: float = 3.0) -> None:
    """Windows are calendar minutes: a test that crossed into the next one would see a
    fresh window and its hits forgotten, rightly. Start well inside a minute."""
    into_minute = time.time() % 60
    if into_minute > 60 - margin_s:
        time.sleep(60 - into_minute + 0.1)


def test_callers_are_held_to_the_limit_each_on_their_own() -> None:
    limiter = RateLimiter(None, ServingSettings(rate_limit_per_minute=3))
    _clear_of_a_window_boundary()
    assert [limiter.retry_after("key:a") for _ in range(3)] == [None, None, None]
    retry = limiter.retry_after("key:a")
    assert retry is not None and 1 <= retry <= 60
    assert limiter.retry_after("key:b") is None  # another caller has its own window


class _SlowPipeline:
    """Answers INCRBY like Redis would, once the test lets the round trip finish."""

    def __init__(self, counts: dict[str, int], answer: threading.Event) -> None:
        self._counts, self._answer = counts, answer
        self._calls: list[tuple[str, int]] = []

    def incrby(self, key: str, hits: int) -> None:
        self._calls.append((key, hits))

    def expire(self, key: str, seconds: int) -> None:
        self._calls.append((key, 0))

    def execute(self) -> list[int]:
        self._answer.wait(5)
        totals = []
        for key, hits in self._calls:
            self._counts[key] = self._counts.get(key, 0) + hits
            totals.append(self._counts[key])
        return totals


class _SlowRedis:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.answer = threading.Event()

    def pipeline(self, transaction: bool) -> _SlowPipeline:
        return _SlowPipeline(self.counts, self.answer)


def test_hits_on_their_way_to_redis_still_count() -> None:
    redis = _SlowRedis()
    settings = ServingSettings(rate_limit_per_minute=3, rate_limit_sync_seconds=10)
    limiter = RateLimiter(redis, settings)  # type: ignore[arg-type]
    _clear_of_a_window_boundary()
    try:
        assert [limiter.retry_after("key:a") for _ in range(3)] == [None, None, None]
        pushing = threading.Thread(target=limiter.sync)
        pushing.start()  # takes the three hits, then waits for Redis's answer
        time.sleep(0.1)
        # Mid-sync the three hits are neither pending nor in the shared total yet.
        assert limiter.retry_after("key:a") is not None
        redis.answer.set()
        pushing.join(5)
        assert limiter.retry_after("key:a") is not None  # now Redis's total holds them
        assert sum(redis.counts.values()) == 3
    finally:
        limiter.stop()
