"""Ways to break an event, one per reason the validator must give."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from workloads.events.model import EventLimits, Reason
from workloads.events.serde import encode_mapping

_DAY_S = 86_400

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
