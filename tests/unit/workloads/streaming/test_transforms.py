from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyspark.sql import DataFrame, SparkSession

from workloads.events import FIELD_NAMES, EventLimits, Reason
from workloads.producer.generator import TrafficGenerator
from workloads.producer.settings import ProducerSettings
from workloads.streaming.transforms import (
    DETAIL,
    REASON,
    parse_events,
    user_sessions,
    valid_events,
)

KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD: dict[str, Any] = {
    "event_id": "8A9A021E-a648-47dd-8683-9eb905b6e6e3",
    "event_time": "2026-03-01T11:59:00.123Z",
    "user_id": "u1",
    "session_id": "s1",
    "event_type": "click",
    "value": 1.5,
    "properties": {"page": "/"},
}


def _kafka_rows(spark: SparkSession, payloads: list[bytes], at: datetime = NOW) -> DataFrame:
    rows = [(b"k", payload, "events", 0, offset, at) for offset, payload in enumerate(payloads)]
    return spark.createDataFrame(rows, KAFKA_SCHEMA)


def _parse(spark: SparkSession, payloads: list[bytes]) -> list[dict[str, Any]]:
    parsed = parse_events(_kafka_rows(spark, payloads), EventLimits())
    return [row.asDict() for row in parsed.orderBy("source_offset").collect()]


def _with(**changes: Any) -> bytes:
    return orjson.dumps({**GOOD, **changes})


def _without(name: str) -> bytes:
    return orjson.dumps({k: v for k, v in GOOD.items() if k != name})


def test_a_valid_event_is_typed_and_kept(spark: SparkSession) -> None:
    [row] = _parse(spark, [orjson.dumps(GOOD)])
    assert row[REASON] is None
    assert row[DETAIL] is None
    assert row["payload"] is None  # only dead letters carry the original bytes
    assert row["event_id"] == GOOD["event_id"]  # ClickHouse normalises the case
    assert row["event_time"] == datetime(2026, 3, 1, 11, 59, 0, 123000)
    assert row["value"] == 1.5
    assert row["properties"] == {"page": "/"}
    assert row["source_offset"] == 0


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"{not json", Reason.NOT_JSON, "payload is not valid JSON"),
        (b"", Reason.NOT_JSON, "payload is not valid JSON"),
        (b"[1, 2]", Reason.NOT_OBJECT, "payload is JSON but not an object"),
        (b'"text"', Reason.NOT_OBJECT, "payload is JSON but not an object"),
        (_with(value="1.5"), Reason.INVALID_FIELD, "value: wrong JSON type"),
        (_with(properties=["a"]), Reason.INVALID_FIELD, "properties: wrong JSON type"),
        (_without("user_id"), Reason.MISSING_FIELD, "user_id"),
        (_with(session_id=None), Reason.MISSING_FIELD, "session_id"),
        (_with(event_id="nope"), Reason.INVALID_FIELD, "event_id: bad format"),
        (_with(user_id={"id": 1}), Reason.INVALID_FIELD, "user_id: bad format"),
        (_with(event_time="2026-03-01 11:59:00"), Reason.INVALID_FIELD, "event_time: bad format"),
        (_with(event_time=1_700_000_000), Reason.INVALID_FIELD, "event_time: bad format"),
        (
            orjson.dumps(GOOD).replace(b'"value":1.5', b'"value":1e400'),
            Reason.INVALID_FIELD,
            "value: not a finite number",
        ),
        (_with(event_type="teleport"), Reason.UNKNOWN_EVENT_TYPE, "teleport"),
        (
            _with(properties={f"p{i}": "v" for i in range(33)}),
            Reason.TOO_MANY_PROPERTIES,
            "33 > 32",
        ),
        (_with(properties={"blob": "x" * 20_000}), Reason.OVERSIZED, "bytes > 16384"),
        (_with(event_time="2026-03-01T12:10:00Z"), Reason.EVENT_TIME_IN_FUTURE, "300s after"),
        (_with(event_time="2026-02-01T12:00:00Z"), Reason.EVENT_TIME_TOO_OLD, "604800s before"),
    ],
)
def test_each_kind_of_bad_input_gets_its_reason(
    spark: SparkSession, payload: bytes, reason: Reason, detail: str
) -> None:
    [row] = _parse(spark, [payload])
    assert row[REASON] == reason.value
    assert detail in row[DETAIL]
    assert row["payload"] == payload  # nothing is lost: the original bytes go to the DLQ


def test_lenient_where_documented(spark: SparkSession) -> None:
    numeric_user, null_property, offset_zone = _parse(
        spark,
        [
            _with(user_id=42),
            _with(properties={"page": "/", "ref": None}),
            _with(event_time="2026-03-01T12:59:00+01:00"),
        ],
    )
    assert numeric_user[REASON] is None
    assert numeric_user["user_id"] == "42"
    assert null_property[REASON] is None  # the sink drops the null entry (test_batches)
    assert offset_zone[REASON] is None
    assert offset_zone["event_time"] == datetime(2026, 3, 1, 11, 59)


def test_verdicts_match_what_the_producer_meant(spark: SparkSession) -> None:
    """Every malformed kind the producer makes gets the reason it expects, and valid
    events pass: the validator and the ground truth agree."""
    generator = TrafficGenerator(ProducerSettings(seed=21, malformed_share=0.5), EventLimits())
    now = time.time()
    records = generator.next_batch(now, 1_500).records()
    stamp = datetime.fromtimestamp(now, UTC)
    parsed = parse_events(_kafka_rows(spark, [r.value for r in records], stamp), EventLimits())
    verdicts = [row[REASON] for row in parsed.orderBy("source_offset").collect()]
    expected = [r.malformed.value if r.malformed else None for r in records]
    assert verdicts == expected


def test_valid_events_keep_only_event_and_source_columns(spark: SparkSession) -> None:
    parsed = parse_events(_kafka_rows(spark, [orjson.dumps(GOOD), b"x"]), EventLimits())
    valid = valid_events(parsed)
    assert valid.columns == [
        *FIELD_NAMES,
        "source_topic",
        "source_partition",
        "source_offset",
        "source_timestamp",
    ]
    assert valid.count() == 1


def _events_at(user: str, *minutes: float) -> list[bytes]:
    start = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    return [
        encode_event_at(user, start + timedelta(minutes=m), index)
        for index, m in enumerate(minutes)
    ]


def encode_event_at(user: str, at: datetime, index: int) -> bytes:
    payload = {**GOOD, "user_id": user, "event_time": at.isoformat(), "value": float(index)}
    payload["event_id"] = f"00000000-0000-4000-8000-{abs(hash((user, at))) % 10**12:012d}"
    return orjson.dumps(payload)


def test_sessions_split_on_the_gap(spark: SparkSession) -> None:
    payloads = _events_at("a", 0, 5, 9) + _events_at("a", 60, 61) + _events_at("b", 3)
    events = valid_events(parse_events(_kafka_rows(spark, payloads), EventLimits()))
    sessions = user_sessions(events, watermark_delay_seconds=60, session_gap_seconds=600)
    by_user: dict[str, list[Any]] = {}
    for row in sessions.collect():
        by_user.setdefault(row.user_id, []).append(row)
    assert sorted(by_user) == ["a", "b"]
    assert [r.events for r in by_user["b"]] == [1]
    first, second = sorted(by_user["a"], key=lambda r: r.session_start)
    assert first.events == 3 and first.value_sum == 3.0
    assert first.session_end - first.last_event_time == timedelta(minutes=10)
    assert (second.session_start - first.session_start) == timedelta(hours=1)
    assert second.events == 2


def test_a_session_lists_its_distinct_event_types_sorted(spark: SparkSession) -> None:
    types = ["search", "click", "search", "purchase", "click"]
    payloads = [
        orjson.dumps({**orjson.loads(payload), "event_type": event_type})
        for payload, event_type in zip(_events_at("a", 0, 1, 2, 3, 4), types, strict=True)
    ] + _events_at("b", 0)
    events = valid_events(parse_events(_kafka_rows(spark, payloads), EventLimits()))
    sessions = user_sessions(events, watermark_delay_seconds=60, session_gap_seconds=600)
    by_user = {row.user_id: row.event_types for row in sessions.collect()}
    assert by_user == {"a": ["click", "purchase", "search"], "b": [GOOD["event_type"]]}


def test_late_events_beyond_the_watermark_miss_their_session(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Streamed in three batches: the third holds an event older than the watermark,
    which Spark drops from sessionization (it still reaches the raw table)."""
    source = tmp_path / "source"
    source.mkdir()
    schema = _kafka_rows(spark, [b"{}"]).schema
    stream = spark.readStream.schema(schema).parquet(str(source))
    events = valid_events(parse_events(stream, EventLimits()))
    sessions = user_sessions(events, watermark_delay_seconds=60, session_gap_seconds=300)
    query = (
        sessions.writeStream.format("memory")
        .queryName("late_sessions")
        .outputMode("append")
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .start()
    )
    batches = [
        _events_at("u", 0, 2),  # a session at 11:00-11:02
        _events_at("v", 30),  # moves the watermark to 11:29: u's session closes
        _events_at("u", 1),  # late: older than the watermark, dropped
    ]
    try:
        for index, payloads in enumerate(batches):
            staging = tmp_path / f"staging-{index}"
            _kafka_rows(spark, payloads).coalesce(1).write.parquet(str(staging))
            for part in staging.glob("part-*.parquet"):
                part.rename(source / f"{index}-{part.name}")
            query.processAllAvailable()
    finally:
        query.stop()
    emitted = spark.table("late_sessions").collect()
    assert [(r.user_id, r.events) for r in emitted] == [("u", 2)]
