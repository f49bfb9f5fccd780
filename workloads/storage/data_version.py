"""The data version: a counter the sinks bump after each committed batch.

The serving cache puts it into every key, so a cached answer never outlives the batch
that made it stale. Each bump is also published on a channel of the same name, so API
processes learn the new version without asking Redis on every request. Bumping is best
effort: if Redis is down the cache is down too, and the next batch's bump moves the
version on.
"""

from __future__ import annotations

import redis
import structlog

log = structlog.get_logger(__name__)

DATA_VERSION_KEY = "rtap:data-version"
# Increment and announce in one step, so no subscriber misses a version.
_BUMP = """
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[1], version)
return version
"""


class DataVersion:
    def __init__(self, client: redis.Redis) -> None:
        self._bump = client.register_script(_BUMP)

    def bump(self) -> int | None:
        """The new version, or None when Redis could not be reached."""
        try:
            return int(self._bump(keys=[DATA_VERSION_KEY]))
        except redis.RedisError as exc:
            log.warning("data version not bumped", error=str(exc))
            return None
