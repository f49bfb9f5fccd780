"""Settings of the serving API."""

from __future__ import annotations

from pydantic import Field

from core.settings import SettingsModel


class CacheTtls(SettingsModel):
    """Seconds a cached answer may be served, per query class (within one data version)."""

    timeseries: int = Field(30, ge=1)
    top: int = Field(30, ge=1)
    distinct_users: int = Field(30, ge=1)
    users: int = Field(10, ge=1)
    funnel: int = Field(60, ge=1)
    # Keyed by the data version like the others; the lag is recomputed on every answer.
    freshness: int = Field(30, ge=1)
    # Last good answers, kept to be served (marked stale) while ClickHouse is down.
    stale: int = Field(3600, ge=1)
    # Answers also kept in each API process (no round trip to Redis for those).
    local_entries: int = Field(4096, ge=0)


class ServingSettings(SettingsModel):
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(6000, ge=1)
    # How often each replica pushes its callers' hits to Redis and reads the totals.
    rate_limit_sync_seconds: float = Field(0.1, gt=0, le=10)
    default_limit: int = Field(100, ge=1)
    max_limit: int = Field(1000, ge=1)
    # Longest time range per granularity, and for queries that scan raw events.
    max_minute_range_hours: int = Field(48, ge=1)
    max_hour_range_days: int = Field(62, ge=1)
    max_day_range_days: int = Field(732, ge=1)
    max_raw_range_days: int = Field(31, ge=1)
    max_funnel_steps: int = Field(8, ge=2, le=16)
    graphql_max_depth: int = Field(6, ge=1)
    graphql_max_tokens: int = Field(2000, ge=10)
    graphql_max_aliases: int = Field(15, ge=1)
    graphql_max_bytes: int = Field(16_384, ge=256)
    graphql_timeout_seconds: float = Field(5.0, gt=0)
    # None: on for the local stack, off everywhere else.
    graphql_introspection: bool | None = None
    clickhouse_timeout_seconds: float = Field(5.0, gt=0)
    # Threads one API query may use (0: the engine's default, one per core). The embedded
    # engine shares the API's cores, so the local stack caps it to keep cached answers
    # flowing while a miss is computed.
    clickhouse_max_threads: int = Field(0, ge=0, le=256)
    # Clients the API queries ClickHouse through, each running one query at a time (a
    # chDB handle, or an HTTP client with its own session): as many queries run at once.
    clickhouse_connections: int = Field(4, ge=1, le=64)
    redis_timeout_seconds: float = Field(0.25, gt=0)
    # Circuit breakers open after this many consecutive failures and retry after a pause.
    breaker_failures: int = Field(5, ge=1)
    breaker_reset_seconds: float = Field(10.0, gt=0)
    retry_after_seconds: int = Field(5, ge=1)
    jwt_issuer: str = ""
    jwt_audience: str = "rtap"
    cache: CacheTtls = CacheTtls()
