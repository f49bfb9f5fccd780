"""The analytics event: the one definition every other layer derives from.

`AnalyticsEvent` names the fields, their Python types and their *kind*. The JSON
serializer, the Spark parse schema and the ClickHouse columns are all derived from it
(`serde`, `workloads.events.spark`, `clickhouse_columns`), so adding a field here is the
only edit a new field needs, plus a migration that adds its column.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field

from core.settings import SettingsModel


class EventType(enum.StrEnum):
    """Event types the platform accepts; anything else is dead-lettered."""

    PAGE_VIEW = "page_view"
    CLICK = "click"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    SIGNUP = "signup"


class FieldKind(enum.Enum):
    """How a field is encoded, validated and stored."""

    UUID = "uuid"
    TIMESTAMP = "timestamp"
    IDENTIFIER = "identifier"
    EVENT_TYPE = "event_type"
    PROPERTIES = "properties"
    NUMBER = "number"


class Reason(enum.StrEnum):
    """Why an event was dead-lettered. Codes are stable: dashboards and alerts key on them."""

    OVERSIZED = "oversized"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    TOO_MANY_PROPERTIES = "too_many_properties"
    EVENT_TIME_IN_FUTURE = "event_time_in_future"
    EVENT_TIME_TOO_OLD = "event_time_too_old"


# Identifiers (user and session ids) are short printable tokens. JSON numbers are accepted
# and read as their text, so numeric user ids from older clients still land.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# RFC 3339 with an explicit offset: a timestamp without a zone is ambiguous, so it is invalid.
# The validator (jvm/validator) checks these by hand, reading \d as an ASCII digit as Java
# does; tests/unit/workloads/streaming/test_validator.py holds it to them.
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"


def _describe(kind: FieldKind, description: str) -> dict[str, Any]:
    return {"kind": kind, "description": description}


@dataclass(frozen=True, slots=True)
class AnalyticsEvent:
    """One user interaction, as clients send it (JSON) and as it is stored."""

    event_id: uuid.UUID = field(
        metadata=_describe(FieldKind.UUID, "Client-assigned unique id; the exactly-once key.")
    )
    event_time: datetime = field(
        metadata=_describe(FieldKind.TIMESTAMP, "When it happened (RFC 3339, with zone).")
    )
    user_id: str = field(metadata=_describe(FieldKind.IDENTIFIER, "Who; the Kafka key."))
    session_id: str = field(metadata=_describe(FieldKind.IDENTIFIER, "Client-side session."))
    event_type: EventType = field(metadata=_describe(FieldKind.EVENT_TYPE, "What happened."))
    value: float = field(
        metadata=_describe(FieldKind.NUMBER, "A finite number: revenue, duration, score.")
    )
    properties: dict[str, str] = field(
        default_factory=dict,
        metadata=_describe(FieldKind.PROPERTIES, "Small string map (page, referrer, ...)."),
    )


@dataclass(frozen=True, slots=True)
class EventField:
    name: str
    kind: FieldKind
    required: bool
    description: str


def _event_fields() -> tuple[EventField, ...]:
    return tuple(
        EventField(
            name=f.name,
            kind=f.metadata["kind"],
            required=f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            description=f.metadata["description"],
        )
        for f in dataclasses.fields(AnalyticsEvent)
    )


EVENT_FIELDS: tuple[EventField, ...] = _event_fields()
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in EVENT_FIELDS)

# Storage per kind. Codecs: ids compress with ZSTD; the event type is a handful of values
# (LowCardinality); timestamps within a part are close together (Delta then ZSTD).
_CLICKHOUSE_TYPES: dict[FieldKind, str] = {
    FieldKind.UUID: "UUID",
    FieldKind.TIMESTAMP: "DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))",
    FieldKind.IDENTIFIER: "String CODEC(ZSTD(1))",
    FieldKind.EVENT_TYPE: "LowCardinality(String)",
    FieldKind.PROPERTIES: "Map(LowCardinality(String), String) CODEC(ZSTD(1))",
    FieldKind.NUMBER: "Float64 CODEC(ZSTD(1))",
}


def clickhouse_columns() -> list[tuple[str, str]]:
    """(name, type with codec) for each event field, in model order."""
    return [(f.name, _CLICKHOUSE_TYPES[f.kind]) for f in EVENT_FIELDS]


def clickhouse_base_type(kind: FieldKind) -> str:
    """The column type without its codec, as `system.columns.type` reports it."""
    return _CLICKHOUSE_TYPES[kind].split(" CODEC(")[0]


class EventLimits(SettingsModel):
    """Validation limits, shared by the streaming validator and the synthetic producer."""

    max_event_bytes: int = Field(16_384, ge=256, le=1_000_000)
    max_properties: int = Field(32, ge=0, le=1024)
    # Both bounds are relative to the Kafka record timestamp, not the wall clock, so
    # validating a record again after a crash gives the same verdict.
    max_future_skew_seconds: int = Field(300, ge=0)
    max_age_seconds: int = Field(7 * 24 * 3600, gt=0)
