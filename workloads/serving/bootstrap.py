"""Assembling the serving context from clients and settings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from workloads.redis_client import connect_redis
from workloads.serving.auth import Authenticator, JwtVerifier, KeyStore
from workloads.serving.cache import ResultCache
from workloads.serving.clickhouse_reader import ClickHouseReader
from workloads.serving.dependencies import ServingContext
from workloads.serving.observability import ServingMetrics
from workloads.serving.queries import Queries
from workloads.serving.ratelimit import RateLimiter
from workloads.serving.service import QueryService
from workloads.serving.settings import ServingSettings
from workloads.serving.version_watch import VersionWatcher


def _cache(
    client: redis.Redis, redis_url: str, settings: ServingSettings, metrics: ServingMetrics
) -> ResultCache:
    # The subscription blocks between messages, so it gets a client without a read
    # timeout; health checks notice a silently dead connection.
    versions = VersionWatcher(connect_redis(redis_url, health_check_interval=5))
    versions.start()
    return ResultCache(client, settings, metrics, versions)


def build_context(
    *,
    clickhouse_clients: Sequence[Any],
    database: str,
    redis_url: str | None,
    settings: ServingSettings,
    environment: str,
    keys_file: Path,
    jwt_secret: str | None = None,
) -> ServingContext:
    """Everything the app needs; `redis_url` None runs without cache (and counts rate
    limits in process)."""
    metrics = ServingMetrics()
    reader = ClickHouseReader(clickhouse_clients, settings, metrics)
    client = (
        connect_redis(
            redis_url,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
        if redis_url
        else None
    )
    cache = _cache(client, redis_url, settings, metrics) if client and redis_url else None
    verifier = (
        JwtVerifier(jwt_secret, settings.jwt_audience, settings.jwt_issuer) if jwt_secret else None
    )
    return ServingContext(
        settings=settings,
        environment=environment,
        service=QueryService(Queries(reader, database, settings), cache, settings),
        authenticator=Authenticator(KeyStore(keys_file), verifier),
        rate_limiter=RateLimiter(client, settings),
        clickhouse=reader,
        cache=cache,
        metrics=metrics,
    )
