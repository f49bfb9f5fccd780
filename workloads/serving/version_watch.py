"""The current data version, pushed to this process over Redis pub/sub."""

from __future__ import annotations

import threading
from typing import cast

import redis
import structlog

from workloads.storage.data_version import DATA_VERSION_KEY

log = structlog.get_logger(__name__)

_POLL_S = 1.0
_RETRY_S = 1.0


class VersionWatcher:
    """Follows the version the sinks publish after each committed batch.

    `current` is None while the subscription is down, so nothing relies on a version
    that may be behind. Subscribing comes before reading the counter, so a bump in
    between is seen one way or the other.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="version-watch", daemon=True)
        self.current: int | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self._subscribe_and_listen()
            except (redis.RedisError, OSError, ValueError) as error:
                if self.current is not None:
                    log.warning("data version feed lost", error=str(error))
                self.current = None
                self._stop.wait(_RETRY_S)

    def _subscribe_and_listen(self) -> None:
        with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:  # type: ignore[no-untyped-call]
            pubsub.subscribe(DATA_VERSION_KEY)
            pubsub.get_message(timeout=_POLL_S)  # the subscription's confirmation
            stored = cast(bytes | None, self._client.get(DATA_VERSION_KEY))
            self.current = int(stored or 0)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=_POLL_S)
                if message is not None and message["type"] == "message":
                    self.current = max(self.current or 0, int(message["data"]))
