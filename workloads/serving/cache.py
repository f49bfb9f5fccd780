"""Cache-aside for query answers in Redis: versioned keys, single flight, stale fallback.

Keys include the data version the sinks bump after each committed batch, so an answer
is never served once a newer batch is queryable. Recent answers are also kept in this
process, keyed by the version the sinks publish on each bump (`VersionWatcher`): those
hits need no round trip, and lag a bump only by its pub/sub delivery (under a
millisecond locally). Across processes, one request computes a missing answer while
the others wait for it (a Redis lock per key). A last good copy of every answer is kept
longer, to be served — marked stale — while ClickHouse is unavailable.
With Redis down, answers come straight from ClickHouse.
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson
import pybreaker
import redis
import structlog

from workloads.serving.breaker import ConcurrentCircuitBreaker
from workloads.serving.clickhouse_reader import ClickHouseUnavailableError
from workloads.serving.local_cache import LocalAnswers
from workloads.serving.observability import ServingMetrics
from workloads.serving.settings import ServingSettings
from workloads.serving.version_watch import VersionWatcher
from workloads.storage.data_version import DATA_VERSION_KEY

log = structlog.get_logger(__name__)

T = TypeVar("T")

# One round trip: the current version and the answer cached for it.
_LOOKUP = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""
_WAIT_STEP_S = 0.005


class CacheStatus(enum.StrEnum):
    HIT = "hit"
    MISS = "miss"
    STALE = "stale"
    BYPASS = "bypass"


@dataclass(frozen=True)
class Answer:
    body: bytes
    status: CacheStatus
    version: int | None


def _key_parts(query: str, parameters: dict[str, Any]) -> tuple[str, str]:
    """A cache key is prefix + data version + suffix."""
    digest = hashlib.sha256(orjson.dumps(parameters, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"rtap:cache:{query}:v", f":{digest[:32]}"


@dataclass(frozen=True)
class LocalAnswer:
    answer: Answer
    due: bool  # past its TTL: serve it, and recompute it once in the background


class _RedisDownError(Exception):
    pass


class ResultCache:
    def __init__(
        self,
        client: redis.Redis,
        settings: ServingSettings,
        metrics: ServingMetrics,
        versions: VersionWatcher | None = None,
    ) -> None:
        self._client = client
        self._versions = versions
        self._local = LocalAnswers(settings.cache.local_entries)
        self._settings = settings
        self._metrics = metrics
        self._lookup = client.register_script(_LOOKUP)
        self._breaker = ConcurrentCircuitBreaker(
            fail_max=settings.breaker_failures,
            reset_timeout=settings.breaker_reset_seconds,
            name="redis",
        )

    @property
    def pushed_version(self) -> int | None:
        """The data version this process has been told of; None while the feed is down."""
        return self._versions.current if self._versions is not None else None

    def local_answer(self, query: str, parameters: dict[str, Any]) -> LocalAnswer | None:
        """The answer held in this process for the current data version, if any; no I/O."""
        pushed = self.pushed_version
        if pushed is None:
            return None
        prefix, suffix = _key_parts(query, parameters)
        entry = self._local.get(f"{prefix}{pushed}{suffix}")
        if entry is None:
            return None
        self._metrics.cache_results.labels(query, "local_hit").inc()
        return LocalAnswer(Answer(entry.body, CacheStatus.HIT, pushed), entry.due)

    def answer(
        self,
        query: str,
        ttl_seconds: int,
        parameters: dict[str, Any],
        compute: Callable[[], bytes],
    ) -> Answer:
        """From Redis or `compute` (this process's copies are `local_answer`'s); blocks."""
        prefix, suffix = _key_parts(query, parameters)
        last_good = f"rtap:last:{query}{suffix}"
        try:
            raw_version, cached = self._redis(
                lambda: self._lookup([DATA_VERSION_KEY], [prefix, suffix])
            )
        except _RedisDownError:
            return self._count(query, Answer(compute(), CacheStatus.BYPASS, None))
        version = int(raw_version)
        key = f"{prefix}{version}{suffix}"
        if cached is not None:
            self._local.put(key, cached, ttl_seconds)
            return self._count(query, Answer(cached, CacheStatus.HIT, version))
        try:
            body, status = self._compute_once(key, compute)
        except ClickHouseUnavailableError:
            stale = self._try(lambda: cast(bytes | None, self._client.get(last_good)))
            if stale is None:
                raise
            return self._count(query, Answer(stale, CacheStatus.STALE, None))
        if status is CacheStatus.MISS:
            self._try(lambda: self._store(key, last_good, body, ttl_seconds))
        self._local.put(key, body, ttl_seconds)
        return self._count(query, Answer(body, status, version))

    def stop(self) -> None:
        if self._versions is not None:
            self._versions.stop()

    def ping(self) -> bool:
        try:
            return bool(self._redis(self._client.ping))
        except _RedisDownError:
            return False

    def _compute_once(self, key: str, compute: Callable[[], bytes]) -> tuple[bytes, CacheStatus]:
        """Compute under a per-key lock; concurrent callers wait for the first's answer."""
        timeout = self._settings.clickhouse_timeout_seconds + 1.0
        lock = self._client.lock(f"{key}:lock", timeout=timeout, blocking=False)
        try:
            owner = bool(self._redis(lock.acquire))
        except _RedisDownError:
            return compute(), CacheStatus.MISS
        if owner:
            try:
                return compute(), CacheStatus.MISS
            finally:
                self._try(lock.release)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(_WAIT_STEP_S)
            shared = self._try(lambda: cast(bytes | None, self._client.get(key)))
            if shared is not None:
                return shared, CacheStatus.HIT
        return compute(), CacheStatus.MISS

    def _store(self, key: str, last_good: str, body: bytes, ttl_seconds: int) -> None:
        pipeline = self._client.pipeline(transaction=False)
        pipeline.set(key, body, ex=ttl_seconds)
        pipeline.set(last_good, body, ex=self._settings.cache.stale)
        pipeline.execute()

    def _count(self, query: str, answer: Answer) -> Answer:
        self._metrics.cache_results.labels(query, answer.status.value).inc()
        return answer

    def _redis(self, call: Callable[[], T]) -> T:
        try:
            return self._breaker.call(call)
        except (redis.RedisError, pybreaker.CircuitBreakerError) as error:
            raise _RedisDownError(str(error)) from error

    def _try(self, call: Callable[[], T]) -> T | None:
        try:
            return self._redis(call)
        except _RedisDownError as error:
            log.warning("redis unavailable; continuing without cache", error=str(error))
            return None
