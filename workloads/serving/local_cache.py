"""A small in-process copy of recent answers, in front of Redis."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class LocalAnswers:
    """Least-recently-used answers with an expiry each; keys carry the data version.

    A hit here costs no network round trip: at a dashboard's request rates that is
    most of the work a cached answer would otherwise need.
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            body, expires = entry
            if expires <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return body

    def put(self, key: str, body: bytes, ttl_seconds: float) -> None:
        with self._lock:
            self._entries[key] = (body, time.monotonic() + ttl_seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
