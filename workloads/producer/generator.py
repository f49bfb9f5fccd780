"""Deterministic synthetic traffic, including deliberately malformed records."""

from __future__ import annotations

import random
import secrets
import uuid
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

import orjson

from workloads.events.model import AnalyticsEvent, EventLimits, EventType, Reason
from workloads.events.serde import encode_event, encode_mapping
from workloads.producer.settings import ProducerSettings

_PAGES = ("/", "/search", "/product/1", "/product/2", "/product/3", "/cart", "/checkout")
_REFERRERS = ("direct", "google", "newsletter", "partner", "social")
_DAY_S = 86_400
_PRICED = frozenset({EventType.PURCHASE, EventType.ADD_TO_CART})


@dataclass(frozen=True, slots=True)
class SyntheticRecord:
    """One record to produce, with what the producer must remember once it is acked."""

    key: bytes
    value: bytes
    # Valid events only: the id (16 bytes), type, minute of event time and value.
    event_id: bytes | None
    event_type: str | None
    minute: int
    amount: float
    # Malformed records only: the reason the validator is expected to give.
    malformed: Reason | None


Breaker = Callable[[random.Random, dict[str, Any], EventLimits, float], tuple[bytes, Reason]]


def _not_json(
    rng: random.Random, event: dict[str, Any], _: EventLimits, __: float
) -> tuple[bytes, Reason]:
    text = encode_mapping(event)
    return text[: rng.randrange(1, len(text) - 1)], Reason.NOT_JSON


def _not_object(
    _: random.Random, event: dict[str, Any], __: EventLimits, ___: float
) -> tuple[bytes, Reason]:
    return orjson.dumps([event]), Reason.NOT_OBJECT


def _missing_field(
    rng: random.Random, event: dict[str, Any], _: EventLimits, __: float
) -> tuple[bytes, Reason]:
    required = [name for name in event if name != "properties"]
    del event[rng.choice(required)]
    return encode_mapping(event), Reason.MISSING_FIELD


def _invalid_field(
    rng: random.Random, event: dict[str, Any], _: EventLimits, __: float
) -> tuple[bytes, Reason]:
    corruptions: list[tuple[str, Any]] = [
        ("value", "not-a-number"),
        ("value", {"amount": 3}),
        ("event_id", "not-a-uuid"),
        ("event_time", 1_700_000_000),
        ("event_time", "yesterday"),
        ("user_id", {"id": 7}),
        ("session_id", ""),
        ("properties", ["a", "b"]),
    ]
    name, bad = rng.choice(corruptions)
    event[name] = bad
    return encode_mapping(event), Reason.INVALID_FIELD


def _unknown_type(
    _: random.Random, event: dict[str, Any], __: EventLimits, ___: float
) -> tuple[bytes, Reason]:
    event["event_type"] = "teleport"
    return encode_mapping(event), Reason.UNKNOWN_EVENT_TYPE


def _oversized(
    _: random.Random, event: dict[str, Any], limits: EventLimits, __: float
) -> tuple[bytes, Reason]:
    event["properties"] = {"blob": "x" * limits.max_event_bytes}
    return encode_mapping(event), Reason.OVERSIZED


def _too_many_properties(
    _: random.Random, event: dict[str, Any], limits: EventLimits, __: float
) -> tuple[bytes, Reason]:
    event["properties"] = {f"p{i}": "v" for i in range(limits.max_properties + 1)}
    return encode_mapping(event), Reason.TOO_MANY_PROPERTIES


def _in_future(
    _: random.Random, event: dict[str, Any], limits: EventLimits, now: float
) -> tuple[bytes, Reason]:
    event["event_time"] = _iso(now + limits.max_future_skew_seconds + _DAY_S)
    return encode_mapping(event), Reason.EVENT_TIME_IN_FUTURE


def _too_old(
    _: random.Random, event: dict[str, Any], limits: EventLimits, now: float
) -> tuple[bytes, Reason]:
    event["event_time"] = _iso(now - limits.max_age_seconds - _DAY_S)
    return encode_mapping(event), Reason.EVENT_TIME_TOO_OLD


BREAKERS: tuple[Breaker, ...] = (
    _not_json,
    _not_object,
    _missing_field,
    _invalid_field,
    _unknown_type,
    _oversized,
    _too_many_properties,
    _in_future,
    _too_old,
)


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")


class TrafficGenerator:
    """Produces `SyntheticRecord`s; the sequence depends only on the seed (and the clock)."""

    def __init__(self, settings: ProducerSettings, limits: EventLimits) -> None:
        self._settings = settings
        self._limits = limits
        self.seed = settings.seed if settings.seed is not None else secrets.randbits(63)
        self._rng = random.Random(self.seed)
        self._types = list(settings.event_mix)
        self._cumulative = list(accumulate(settings.event_mix.values()))
        self._total_weight = self._cumulative[-1]
        self._last_millis = -1.0
        self._last_time = datetime.fromtimestamp(0, UTC)
        self._sessions: dict[int, str] = {}

    def next_record(self, now: float) -> SyntheticRecord:
        event = self._event(now)
        user_key = event.user_id.encode()
        if self._rng.random() < self._settings.malformed_share:
            breaker = self._rng.choice(BREAKERS)
            payload, reason = breaker(
                self._rng, orjson.loads(encode_event(event)), self._limits, now
            )
            return SyntheticRecord(user_key, payload, None, None, 0, 0.0, reason)
        minute = int(event.event_time.timestamp()) // 60
        return SyntheticRecord(
            user_key,
            encode_event(event),
            event.event_id.bytes,
            event.event_type.value,
            minute,
            event.value,
            None,
        )

    def _event(self, now: float) -> AnalyticsEvent:
        # random() and bisect instead of randrange() and choices(): the same distributions
        # at a third of the cost; this loop is the producer's whole CPU budget.
        rng = self._rng
        draw = rng.random
        user = int(draw() * self._settings.users)
        event_type = self._types[bisect(self._cumulative, draw() * self._total_weight)]
        event_time = self._clock(now)
        if draw() < self._settings.late_share:
            event_time = datetime.fromtimestamp(
                round(now - draw() * self._settings.max_lateness_seconds, 3), UTC
            )
        priced = event_type in _PRICED
        value = round(5.0 + draw() * 495.0, 2) if priced else round(draw() * 60.0, 3)
        return AnalyticsEvent(
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            event_time=event_time,
            user_id=f"u{user:07d}",
            session_id=self._session(user),
            event_type=event_type,
            value=value,
            properties={
                "page": _PAGES[int(draw() * len(_PAGES))],
                "referrer": _REFERRERS[int(draw() * len(_REFERRERS))],
            },
        )

    def _clock(self, now: float) -> datetime:
        """The event time for `now`, built once per distinct millisecond."""
        millis = round(now, 3)
        if millis != self._last_millis:
            self._last_millis = millis
            self._last_time = datetime.fromtimestamp(millis, UTC)
        return self._last_time

    def _session(self, user: int) -> str:
        session = self._sessions.get(user)
        if session is None or self._rng.random() < self._settings.new_session_share:
            session = f"s{self._rng.getrandbits(48):012x}"
            self._sessions[user] = session
        return session
