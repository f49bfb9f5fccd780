from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from workloads.events import (
    EVENT_FIELDS,
    FIELD_NAMES,
    AnalyticsEvent,
    EventType,
    FieldKind,
    clickhouse_columns,
    decode_event,
    encode_event,
)
from workloads.events.model import clickhouse_base_type
from workloads.events.spark import typed_event_schema


def _event(**changes: object) -> AnalyticsEvent:
    event = AnalyticsEvent(
        event_id=uuid.UUID("8a9a021e-a648-47dd-8683-9eb905b6e6e3"),
        event_time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        user_id="u0000042",
        session_id="s1",
        event_type=EventType.PURCHASE,
        value=19.99,
        properties={"page": "/checkout"},
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def test_fields_are_derived_from_the_dataclass() -> None:
    assert tuple(f.name for f in dataclasses.fields(AnalyticsEvent)) == FIELD_NAMES
    kinds = {f.name: f.kind for f in EVENT_FIELDS}
    assert kinds["event_id"] is FieldKind.UUID
    assert kinds["event_time"] is FieldKind.TIMESTAMP
    assert kinds["properties"] is FieldKind.PROPERTIES
    required = {f.name for f in EVENT_FIELDS if f.required}
    assert required == set(FIELD_NAMES) - {"properties"}


def test_clickhouse_columns_follow_the_model() -> None:
    columns = clickhouse_columns()
    assert [name for name, _ in columns] == list(FIELD_NAMES)
    types = dict(columns)
    assert types["event_type"] == "LowCardinality(String)"
    assert types["event_time"].startswith("DateTime64(3, 'UTC') CODEC(")
    assert clickhouse_base_type(FieldKind.PROPERTIES) == "Map(LowCardinality(String), String)"


def test_spark_schemas_follow_the_model() -> None:
    typed = typed_event_schema()
    assert typed.fieldNames() == list(FIELD_NAMES)
    assert typed["event_time"].dataType.typeName() == "timestamp"
    assert typed["value"].dataType.typeName() == "double"


def test_encode_writes_rfc3339_utc_and_field_order() -> None:
    payload = orjson.loads(encode_event(_event()))
    assert list(payload) == list(FIELD_NAMES)
    assert payload["event_time"] == "2026-01-02T03:04:05.678000Z"
    assert payload["event_type"] == "purchase"
    assert payload["event_id"] == "8a9a021e-a648-47dd-8683-9eb905b6e6e3"


def test_round_trip() -> None:
    event = _event()
    assert decode_event(encode_event(event)) == event


def test_properties_are_optional() -> None:
    payload = orjson.loads(encode_event(_event()))
    del payload["properties"]
    assert decode_event(orjson.dumps(payload)).properties == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event_id": "nope"}, "event_id"),
        ({"event_time": "2026-01-02T03:04:05"}, "event_time"),
        ({"event_type": "teleport"}, "event_type"),
        ({"value": "1.5"}, "value"),
        ({"value": float("inf")}, "value"),
        ({"properties": ["a"]}, "properties"),
    ],
)
def test_decode_names_the_bad_field(change: dict[str, object], message: str) -> None:
    payload = {**orjson.loads(encode_event(_event())), **change}
    with pytest.raises(ValueError, match=message):
        decode_event(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))


def test_decode_names_a_missing_field() -> None:
    payload = orjson.loads(encode_event(_event()))
    del payload["user_id"]
    with pytest.raises(ValueError, match="missing field: user_id"):
        decode_event(orjson.dumps(payload))
