"""Spark schemas derived from the event model."""

from __future__ import annotations

from pyspark.sql import types as T

from workloads.events.model import EVENT_FIELDS, FieldKind

# The type each kind has once validated. UUIDs stay canonical text: ClickHouse parses them
# into its UUID type on insert, and Arrow has no UUID type Spark emits.
_TYPED_TYPES: dict[FieldKind, T.DataType] = {
    FieldKind.UUID: T.StringType(),
    FieldKind.TIMESTAMP: T.TimestampType(),
    FieldKind.IDENTIFIER: T.StringType(),
    FieldKind.EVENT_TYPE: T.StringType(),
    FieldKind.PROPERTIES: T.MapType(T.StringType(), T.StringType()),
    FieldKind.NUMBER: T.DoubleType(),
}


def typed_event_schema() -> T.StructType:
    """Schema of a validated event as the job hands it to the sinks."""
    return T.StructType(
        [T.StructField(f.name, _TYPED_TYPES[f.kind], nullable=False) for f in EVENT_FIELDS]
    )
