"""Per-caller rate limits, counted in Redis so all API replicas share them.

With Redis unavailable the limit is counted in this process instead: the API keeps
answering (no 5xx) and callers are still held to the limit per replica.
"""

from __future__ import annotations

import math
import time

import pybreaker
import structlog
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from workloads.serving.settings import ServingSettings

log = structlog.get_logger(__name__)


class RateLimiter:
    def __init__(self, redis_url: str | None, settings: ServingSettings) -> None:
        self._item = RateLimitItemPerMinute(settings.rate_limit_per_minute)
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared = (
            FixedWindowRateLimiter(
                RedisStorage(
                    redis_url,
                    key_prefix="rtap-rate",
                    wrap_exceptions=True,
                    socket_timeout=settings.redis_timeout_seconds,
                    socket_connect_timeout=settings.redis_timeout_seconds,
                )
            )
            if redis_url
            else None
        )
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=settings.breaker_failures,
            reset_timeout=settings.breaker_reset_seconds,
            name="redis-rate-limit",
        )

    def retry_after(self, caller: str) -> int | None:
        """None when the call is allowed; otherwise seconds until the window resets."""
        limiter = self._local
        if self._shared is not None:
            try:
                allowed = self._breaker.call(self._shared.hit, self._item, caller)
                limiter = self._shared
            except (StorageError, pybreaker.CircuitBreakerError) as error:
                log.warning("rate limit counted locally: redis unavailable", error=str(error))
                allowed = self._local.hit(self._item, caller)
        else:
            allowed = self._local.hit(self._item, caller)
        if allowed:
            return None
        try:
            reset = limiter.get_window_stats(self._item, caller).reset_time
        except StorageError:
            reset = time.time() + 60
        return max(1, math.ceil(reset - time.time()))
