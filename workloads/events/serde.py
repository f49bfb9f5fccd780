"""JSON encoding of `AnalyticsEvent`, derived from the dataclass."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from workloads.events.model import EVENT_FIELDS, AnalyticsEvent, EventType, FieldKind

# orjson serializes dataclasses, UUIDs, datetimes and str-enums natively, in field order.
_OPTIONS = orjson.OPT_UTC_Z


def encode_event(event: AnalyticsEvent) -> bytes:
    return orjson.dumps(event, option=_OPTIONS)


def encode_rows(columns: Mapping[str, Sequence[bytes]]) -> list[bytes]:
    """JSON objects from columns of already-encoded JSON values, one per model field.

    The fields come in model order, as `encode_event` writes them, so a row built here
    from the same values is byte-identical. Producers that generate events in bulk use
    it to skip building an `AnalyticsEvent` per row.
    """
    names = [spec.name for spec in EVENT_FIELDS if spec.required or spec.name in columns]
    missing = [name for name in names if name not in columns]
    if missing:
        raise KeyError(f"no column for required field {missing[0]}")
    template = b"{" + b",".join(b'"%s":%%s' % name.encode() for name in names) + b"}"
    return [template % values for values in zip(*(columns[name] for name in names), strict=True)]


def encode_mapping(payload: dict[str, Any]) -> bytes:
    """Encode an arbitrary mapping the same way (used for deliberately malformed events)."""
    return orjson.dumps(payload, option=_OPTIONS)


def _parse_timestamp(raw: Any) -> datetime:
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no zone")
    return parsed


def _parse_number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError("not a finite number")
    return float(raw)


def _parse_properties(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    return {str(k): str(v) for k, v in raw.items()}


_PARSERS: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.UUID: uuid.UUID,
    FieldKind.TIMESTAMP: _parse_timestamp,
    FieldKind.IDENTIFIER: str,
    FieldKind.EVENT_TYPE: EventType,
    FieldKind.PROPERTIES: _parse_properties,
    FieldKind.NUMBER: _parse_number,
}


def decode_event(payload: bytes) -> AnalyticsEvent:
    """Strict decode for tools and tests; the pipeline validates in Spark instead.

    Raises ValueError naming the offending field.
    """
    raw = orjson.loads(payload)
    if not isinstance(raw, dict):
        raise ValueError("event must be a JSON object")
    values: dict[str, Any] = {}
    for spec in EVENT_FIELDS:
        if spec.name not in raw:
            if spec.required:
                raise ValueError(f"missing field: {spec.name}")
            continue
        try:
            values[spec.name] = _PARSERS[spec.kind](raw[spec.name])
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"invalid field {spec.name}: {exc}") from exc
    return AnalyticsEvent(**values)
