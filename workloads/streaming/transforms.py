"""Pure DataFrame logic of the streaming job: parse, validate, sessionize.

Nothing here reads or writes anything, so every function runs the same on a static
DataFrame in a unit test and on a stream in `job`. Validation is a pure function of the
Kafka record (payload and record timestamp, never the wall clock): a batch replayed
after a crash gets exactly the same verdicts, which the exactly-once sink relies on.

Validation runs in the event validator, a Java UDF (`validator`, jvm/validator). Its
rules, in precedence order (the first that fails names the reason):

1. `oversized`: the payload is larger than `max_event_bytes`.
2. `not_json`: empty, not JSON, or more than one JSON value; `not_object`: JSON, but
   not an object.
3. `invalid_field` "<field>: wrong JSON type", for the first field in model order whose
   JSON type its kind cannot take: a non-number for a number, a non-object for the
   properties. String kinds take any JSON value as its text (`"user_id": 42` is "42").
4. `missing_field` "<field>": a required field absent or null.
5. Per field in model order: `invalid_field` "<field>: bad format" (UUID, identifier or
   RFC 3339 time with a zone, exactly as the model's patterns say, and a real date),
   "<field>: not a finite number", `unknown_event_type` (the type's first 64
   characters), `too_many_properties` ("33 > 32").
6. `event_time_in_future` / `event_time_too_old`: more than `max_future_skew_seconds`
   after, or `max_age_seconds` before, the Kafka record timestamp.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from workloads.events.model import FIELD_NAMES, EventLimits, EventType
from workloads.streaming.validator import DETAIL, REASON, register_validator

__all__ = ["DETAIL", "REASON", "parse_events", "user_sessions", "valid_events"]

SOURCE_COLUMNS = ("source_topic", "source_partition", "source_offset", "source_timestamp")
# What sessionization reads of each valid event.
SESSION_INPUT_COLUMNS = ("user_id", "event_time", "event_type", "value")
_VERDICT = "_verdict"
# Sessions keep their event types as the bits of an int (user_sessions).
_INT_MASK_BITS = 31
_SESSION_TYPE_NAMES = tuple(sorted(member.value for member in EventType))
if len(_SESSION_TYPE_NAMES) > _INT_MASK_BITS:
    raise RuntimeError("user_sessions keeps event types as the bits of an int: 31 at most")


def parse_events(kafka_rows: DataFrame, limits: EventLimits) -> DataFrame:
    """One output row per Kafka record, valid or not; nothing is dropped.

    Columns: the event fields (typed; null for a dead letter), the source coordinates,
    the Kafka key, `payload` (the original bytes, kept only for invalid records) and
    `dlq_reason`/`dlq_detail`, which are null for valid events. Registers the validator
    in the frame's session.
    """
    validate = register_validator(kafka_rows.sparkSession, limits)
    # The verdict gets a projection of its own, so that the UDF runs once per record
    # however many of its fields are read.
    checked = kafka_rows.select(
        "key",
        "value",
        F.col("topic").alias("source_topic"),
        F.col("partition").alias("source_partition"),
        F.col("offset").alias("source_offset"),
        F.col("timestamp").alias("source_timestamp"),
        F.call_function(validate, F.col("value"), F.unix_micros("timestamp")).alias(_VERDICT),
    )
    verdict = F.col(_VERDICT)
    return checked.select(
        *[verdict[name].alias(name) for name in FIELD_NAMES],
        *SOURCE_COLUMNS,
        "key",
        F.when(verdict[REASON].isNotNull(), F.col("value")).alias("payload"),
        verdict[REASON].alias(REASON),
        verdict[DETAIL].alias(DETAIL),
    )


def valid_events(parsed: DataFrame) -> DataFrame:
    return parsed.where(F.col(REASON).isNull()).select(*FIELD_NAMES, *SOURCE_COLUMNS)


def user_sessions(
    events: DataFrame, watermark_delay_seconds: int, session_gap_seconds: int
) -> DataFrame:
    """Per-user sessions: activity separated by less than the gap belongs to one session.

    The watermark bounds how late an event may arrive and still join its session; later
    events are still stored raw and counted in the rollups, they only miss the session.
    In append mode a session is emitted once, when the watermark passes its end.
    """
    window = F.session_window("event_time", f"{session_gap_seconds} seconds")
    # Event types are aggregated as the bits of a mask, not with collect_set: a set per
    # group, kept in the state store, doubled the aggregation's CPU (measured on a
    # static frame of 300k events: 5.0 against 2.2 µs per event).
    names = ", ".join(f"'{name}'" for name in _SESSION_TYPE_NAMES)
    type_bit = F.expr(f"shiftleft(1, array_position(array({names}), event_type) - 1)")
    set_bit_names = F.expr(
        f"filter(array({names}), (name, i) -> (type_mask & shiftleft(1, i)) != 0)"
    )
    return (
        events.withWatermark("event_time", f"{watermark_delay_seconds} seconds")
        .groupBy(window.alias("session"), "user_id")
        .agg(
            F.count(F.lit(1)).cast("int").alias("events"),
            F.sum("value").alias("value_sum"),
            F.max("event_time").alias("last_event_time"),
            F.bit_or(type_bit.cast("int")).alias("type_mask"),
        )
        .select(
            "user_id",
            F.col("session.start").alias("session_start"),
            F.col("session.end").alias("session_end"),
            "last_event_time",
            "events",
            "value_sum",
            set_bit_names.alias("event_types"),  # sorted, as the names are
        )
    )
