"""Deterministic synthetic traffic, including deliberately malformed records, in bulk.

Records are drawn with numpy a block at a time and encoded column by column: at 50,000
events/s the producer shares the machine with the pipeline it feeds, and building one
`AnalyticsEvent` per record cost 13 µs of CPU each (measured), a quarter of a core at
20,000 events/s.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from workloads.events.model import EventLimits, EventType, Reason
from workloads.events.serde import encode_rows
from workloads.producer.breakers import BREAKERS
from workloads.producer.settings import ProducerSettings

_PAGES = ("/", "/search", "/product/1", "/product/2", "/product/3", "/cart", "/checkout")
_REFERRERS = ("direct", "google", "newsletter", "partner", "social")
_PRICED = frozenset({EventType.PURCHASE, EventType.ADD_TO_CART})
# Records drawn from the random generator at a time. Drawing fixed blocks makes the
# sequence independent of how callers slice it into batches (and so of timing).
_BLOCK = 4_096
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Where the 32 hex digits of a UUID go in '"8-4-4-4-12"' (quotes and dashes elsewhere).
_UUID_DIGIT_COLUMNS = np.array([c for c in range(1, 37) if c not in (9, 14, 19, 24)], dtype=np.intp)

Draws = dict[str, npt.NDArray[np.generic]]


@dataclass(frozen=True, slots=True)
class SyntheticRecord:
    """One record of a batch, as a value (tests and tools; the producer uses columns)."""

    key: bytes
    value: bytes
    # Valid events only: the id (16 bytes), type, minute of event time and value.
    event_id: bytes | None
    event_type: str | None
    minute: int
    amount: float
    # Malformed records only: the reason the validator is expected to give.
    malformed: Reason | None


@dataclass(frozen=True)
class RecordBatch:
    """Records to produce, with what the ground truth needs of each, as columns."""

    keys: list[bytes]
    values: list[bytes]
    event_ids: npt.NDArray[np.uint8]  # (n, 16), RFC 4122 byte order
    type_index: npt.NDArray[np.intp]  # into event_types
    minute: npt.NDArray[np.int64]  # minute of the event time, since the epoch
    amount: npt.NDArray[np.float64]
    # Position -> the reason the validator is expected to give.
    malformed: dict[int, Reason]
    event_types: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.values)

    @property
    def valid_mask(self) -> npt.NDArray[np.bool_]:
        mask = np.ones(len(self), dtype=np.bool_)
        mask[list(self.malformed)] = False
        return mask

    def records(self) -> list[SyntheticRecord]:
        return [self._record(index) for index in range(len(self))]

    def _record(self, index: int) -> SyntheticRecord:
        key, value = self.keys[index], self.values[index]
        reason = self.malformed.get(index)
        if reason is not None:
            return SyntheticRecord(key, value, None, None, 0, 0.0, reason)
        return SyntheticRecord(
            key,
            value,
            self.event_ids[index].tobytes(),
            self.event_types[int(self.type_index[index])],
            int(self.minute[index]),
            float(self.amount[index]),
            None,
        )


class TrafficGenerator:
    """Produces `RecordBatch`es; the sequence depends only on the seed (and the clock)."""

    def __init__(self, settings: ProducerSettings, limits: EventLimits) -> None:
        self._settings = settings
        self._limits = limits
        self.seed = settings.seed if settings.seed is not None else secrets.randbits(63)
        self._rng = np.random.default_rng(self.seed)
        # The breakers' own choices, consumed in record order.
        self._breaker_rng = random.Random(self.seed)
        self._types = tuple(EventType(t) for t in settings.event_mix)
        self._cumulative = np.cumsum(list(settings.event_mix.values()))
        self._priced = np.array([t in _PRICED for t in self._types])
        self._type_json = [orjson.dumps(t.value) for t in self._types]
        self._properties_json = [
            orjson.dumps({"page": page, "referrer": referrer})
            for page in _PAGES
            for referrer in _REFERRERS
        ]
        self._sessions: dict[int, int] = {}
        self._buffer: Draws = self._draw(0)

    def next_batch(self, now: float, count: int) -> RecordBatch:
        """The next `count` records, stamped with `now` (late ones before it)."""
        while len(self._buffer["user"]) < count:
            block = self._draw(_BLOCK)
            self._buffer = {
                name: np.concatenate([self._buffer[name], block[name]]) for name in block
            }
        draws = {name: column[:count] for name, column in self._buffer.items()}
        self._buffer = {name: column[count:] for name, column in self._buffer.items()}
        return self._encode(draws, now)

    def _draw(self, size: int) -> Draws:
        rng, settings = self._rng, self._settings
        type_draw = rng.random(size) * self._cumulative[-1]
        type_index = np.minimum(
            np.searchsorted(self._cumulative, type_draw, side="right"), len(self._types) - 1
        )
        users = rng.integers(0, settings.users, size)
        late = rng.random(size) < settings.late_share
        lateness_ms = (rng.random(size) * settings.max_lateness_seconds * 1000).astype(np.int64)
        amount_draw = rng.random(size)
        # Whole cents (prices) or milliseconds (durations): exact decimals in JSON.
        amount = np.where(
            self._priced[type_index],
            (500 + (amount_draw * 49_501).astype(np.int64)) / 100,
            (amount_draw * 60_001).astype(np.int64) / 1000,
        )
        ids = rng.integers(0, 256, (size, 16), dtype=np.uint8)
        ids[:, 6] = (ids[:, 6] & 0x0F) | 0x40  # version 4
        ids[:, 8] = (ids[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        starts_session = rng.random(size) < settings.new_session_share
        candidate_sessions = rng.integers(0, 1 << 48, size)
        properties = rng.integers(0, len(_PAGES), size) * len(_REFERRERS) + rng.integers(
            0, len(_REFERRERS), size
        )
        malformed = rng.random(size) < settings.malformed_share
        breaker = rng.integers(0, len(BREAKERS), size)
        return {
            "user": users,
            "type_index": type_index,
            "lateness_ms": np.where(late, lateness_ms, 0),
            "amount": amount,
            "event_id": ids,
            "session": self._assign_sessions(users, starts_session, candidate_sessions),
            "properties": properties,
            "breaker": np.where(malformed, breaker, -1),
        }

    def _assign_sessions(
        self,
        users: npt.NDArray[np.int64],
        starts: npt.NDArray[np.bool_],
        candidates: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Each user keeps a session until an event of theirs starts a new one."""
        current = self._sessions
        sessions = []
        for user, start, candidate in zip(
            users.tolist(), starts.tolist(), candidates.tolist(), strict=True
        ):
            session = current.get(user)
            if session is None or start:
                session = current[user] = candidate
            sessions.append(session)
        return np.array(sessions, dtype=np.int64)

    def _encode(self, draws: Draws, now: float) -> RecordBatch:
        times_ms = round(now * 1000) - draws["lateness_ms"].astype(np.int64)
        event_ids = draws["event_id"].astype(np.uint8)
        users = draws["user"].tolist()
        keys = [b"u%07d" % user for user in users]
        values = encode_rows(
            {
                "event_id": _uuid_json(event_ids),
                "event_time": _timestamp_json(times_ms),
                "user_id": [b'"%s"' % key for key in keys],
                "session_id": [b'"s%012x"' % session for session in draws["session"].tolist()],
                "event_type": [self._type_json[i] for i in draws["type_index"].tolist()],
                "value": [b"%r" % amount for amount in draws["amount"].tolist()],
                "properties": [self._properties_json[i] for i in draws["properties"].tolist()],
            }
        )
        malformed: dict[int, Reason] = {}
        breakers = draws["breaker"].astype(np.intp)
        for index in np.flatnonzero(breakers >= 0).tolist():
            breaker = BREAKERS[int(breakers[index])]
            event = orjson.loads(values[index])
            values[index], malformed[index] = breaker(self._breaker_rng, event, self._limits, now)
        return RecordBatch(
            keys=keys,
            values=values,
            event_ids=event_ids,
            type_index=draws["type_index"].astype(np.intp),
            minute=times_ms // 60_000,
            amount=draws["amount"].astype(np.float64),
            malformed=malformed,
            event_types=tuple(t.value for t in self._types),
        )


def _uuid_json(ids: npt.NDArray[np.uint8]) -> list[bytes]:
    """'"xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx"' for each row of 16 bytes."""
    nibbles = np.empty((len(ids), 32), dtype=np.uint8)
    nibbles[:, 0::2] = ids >> 4
    nibbles[:, 1::2] = ids & 0x0F
    text = np.full((len(ids), 38), ord("-"), dtype=np.uint8)
    text[:, 0] = text[:, 37] = ord('"')
    text[:, _UUID_DIGIT_COLUMNS] = _HEX_DIGITS[nibbles]
    encoded: list[bytes] = text.view("S38").ravel().tolist()
    return encoded


def _timestamp_json(times_ms: npt.NDArray[np.int64]) -> list[bytes]:
    """RFC 3339 in UTC, as orjson writes a datetime (microseconds, none on a whole
    second); each distinct millisecond is formatted once (most records share one)."""
    distinct, inverse = np.unique(times_ms, return_inverse=True)
    texts = np.datetime_as_string(distinct.astype("datetime64[ms]").astype("datetime64[us]"))
    encoded = [b'"%sZ"' % text.removesuffix(".000000").encode() for text in texts.tolist()]
    return [encoded[i] for i in inverse.tolist()]
