"""Per-caller rate limits over one-minute windows, shared by all API replicas in Redis.

No request waits for Redis. Each process counts its callers' hits and pushes them in
the background every `rateLimitSyncSeconds` (`INCRBY` on the window's key, which
answers the total from all replicas). A caller is admitted while the last total Redis
reported plus the hits counted here since then stay under the limit. With several
replicas a caller can overshoot by what the other replicas admitted within one sync
interval. While Redis is down each replica holds callers to the limit on its own, and
the hits it counted are pushed once Redis is back.

(The `limits` library was measured first: one Redis round trip per request took 40% of
a cached answer's time and capped one process near 1,000 requests/s.)
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import redis
import structlog

from workloads.serving.settings import ServingSettings

log = structlog.get_logger(__name__)

_WINDOW_S = 60
_KEY_PREFIX = "rtap:rate"


@dataclass
class _Window:
    start: int  # epoch seconds, a multiple of the window length
    shared: int = 0  # the total Redis last reported, all replicas included
    pending: int = 0  # hits admitted here and not pushed yet
    # Hits on their way to Redis: counted until its answer (which includes them) arrives,
    # or a request during a sync would see neither and be admitted over the limit.
    pushing: int = 0


class RateLimiter:
    def __init__(self, client: redis.Redis | None, settings: ServingSettings) -> None:
        self._limit = settings.rate_limit_per_minute
        self._client = client
        self._sync_s = settings.rate_limit_sync_seconds
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if client is not None:
            threading.Thread(target=self._sync_forever, name="rate-limit-sync", daemon=True).start()

    def retry_after(self, caller: str) -> int | None:
        """None when the call is admitted (and counted); else seconds until the window ends."""
        now = time.time()
        start = int(now // _WINDOW_S) * _WINDOW_S
        with self._lock:
            window = self._windows.get(caller)
            if window is None or window.start != start:
                window = self._windows[caller] = _Window(start)
            if window.shared + window.pushing + window.pending >= self._limit:
                return max(1, math.ceil(start + _WINDOW_S - now))
            window.pending += 1
        return None

    def stop(self) -> None:
        self._stop.set()

    def sync(self) -> None:
        """Push counted hits to Redis and take back the shared totals."""
        if self._client is None:
            return
        with self._lock:
            batch = [
                (caller, w.start, w.pending) for caller, w in self._windows.items() if w.pending
            ]
            for caller, _, hits in batch:
                counted = self._windows[caller]
                counted.pending -= hits
                counted.pushing += hits
        if not batch:
            return
        pipeline = self._client.pipeline(transaction=False)
        for caller, start, hits in batch:
            key = f"{_KEY_PREFIX}:{start}:{caller}"
            pipeline.incrby(key, hits)
            pipeline.expire(key, 2 * _WINDOW_S)
        try:
            totals = pipeline.execute()[::2]
        except redis.RedisError as error:
            log.warning("rate limits counted locally: redis unavailable", error=str(error))
            self._restore(batch)
            return
        with self._lock:
            for (caller, start, hits), total in zip(batch, totals, strict=True):
                window = self._windows.get(caller)
                if window is not None and window.start == start:
                    window.shared = max(window.shared, int(total))
                    window.pushing -= hits

    def _restore(self, batch: list[tuple[str, int, int]]) -> None:
        with self._lock:
            for caller, start, hits in batch:
                window = self._windows.get(caller)
                if window is not None and window.start == start:
                    window.pushing -= hits
                    window.pending += hits

    def _sync_forever(self) -> None:
        while not self._stop.wait(self._sync_s):
            self.sync()
            self._forget_old_windows()

    def _forget_old_windows(self) -> None:
        current = int(time.time() // _WINDOW_S) * _WINDOW_S
        with self._lock:
            for caller in [
                c for c, w in self._windows.items() if w.start < current and not w.pending
            ]:
                del self._windows[caller]
