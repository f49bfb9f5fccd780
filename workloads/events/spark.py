"""Spark schemas derived from the event model."""

from __future__ import annotations

from pyspark.sql import types as T

from workloads.events.model import EVENT_FIELDS, FieldKind

CORRUPT_RECORD_COLUMN = "_corrupt_record"

# How each kind is read from JSON. Spark's JSON reader is strict for DoubleType (a string
# "1.5" is rejected) and lenient for StringType (a number becomes its text), so format
# checks in `transforms` finish the validation of string-typed kinds.
_PARSE_TYPES: dict[FieldKind, T.DataType] = {
    FieldKind.UUID: T.StringType(),
    FieldKind.TIMESTAMP: T.StringType(),
    FieldKind.IDENTIFIER: T.StringType(),
    FieldKind.EVENT_TYPE: T.StringType(),
    FieldKind.PROPERTIES: T.MapType(T.StringType(), T.StringType()),
    FieldKind.NUMBER: T.DoubleType(),
}

# The type each kind has once validated. UUIDs stay canonical text: ClickHouse parses them
# into its UUID type on insert, and Arrow has no UUID type Spark emits.
_TYPED_TYPES: dict[FieldKind, T.DataType] = {
    **_PARSE_TYPES,
    FieldKind.TIMESTAMP: T.TimestampType(),
}


def json_parse_schema() -> T.StructType:
    """Schema for `from_json`, with a column that receives records that fail to parse."""
    fields = [T.StructField(f.name, _PARSE_TYPES[f.kind]) for f in EVENT_FIELDS]
    fields.append(T.StructField(CORRUPT_RECORD_COLUMN, T.StringType()))
    return T.StructType(fields)


def typed_event_schema() -> T.StructType:
    """Schema of a validated event as the job hands it to the sinks."""
    return T.StructType(
        [T.StructField(f.name, _TYPED_TYPES[f.kind], nullable=False) for f in EVENT_FIELDS]
    )
