"""The data version: a counter the sinks bump after each committed batch.

The serving cache puts it into every key, so a cached answer never outlives the batch
that made it stale. Bumping is best effort: if Redis is down the cache is down too.
"""

from __future__ import annotations

import redis
import structlog

log = structlog.get_logger(__name__)

DATA_VERSION_KEY = "rtap:data-version"


class DataVersion:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def bump(self) -> None:
        try:
            self._client.incr(DATA_VERSION_KEY)
        except redis.RedisError as exc:
            log.warning("data version not bumped", error=str(exc))
