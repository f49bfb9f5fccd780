"""A small in-process copy of recent answers, in front of Redis."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class LocalEntry:
    body: bytes
    # Past its TTL: still the answer for its data version, but due for recomputing.
    due: bool


class LocalAnswers:
    """Least-recently-used answers; keys carry the data version.

    A hit here costs no network round trip: at a dashboard's request rates that is most
    of the work a cached answer would otherwise need. An entry stays usable for one more
    TTL after it falls due, so that callers keep getting it, without waiting, while one
    of them recomputes it (its key holds the data version, so it is still the current
    answer).
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> LocalEntry | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            body, due_at, drop_at = entry
            if drop_at <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return LocalEntry(body, due_at <= now)

    def put(self, key: str, body: bytes, ttl_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._entries[key] = (body, now + ttl_seconds, now + 2 * ttl_seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
