"""The analytics event model: one definition for serializer, Spark schema and storage."""

from workloads.events.model import (
    EVENT_FIELDS,
    FIELD_NAMES,
    AnalyticsEvent,
    EventField,
    EventLimits,
    EventType,
    FieldKind,
    Reason,
    clickhouse_columns,
)
from workloads.events.serde import decode_event, encode_event

__all__ = [
    "EVENT_FIELDS",
    "FIELD_NAMES",
    "AnalyticsEvent",
    "EventField",
    "EventLimits",
    "EventType",
    "FieldKind",
    "Reason",
    "clickhouse_columns",
    "decode_event",
    "encode_event",
]
