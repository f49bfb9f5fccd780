"""The Java validator's hand-written format checks accept exactly what the event model's
patterns say (with ASCII `\\d`, as Java reads them), and its parse handles the edges the
reason table in `transforms` lists."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from py4j.java_gateway import JavaPackage
from pyspark.sql import SparkSession

from workloads.events import EventLimits, Reason
from workloads.events.model import IDENTIFIER_PATTERN, TIMESTAMP_PATTERN, UUID_PATTERN
from workloads.streaming.transforms import DETAIL, REASON, parse_events
from workloads.streaming.validator import (
    VALIDATOR_CLASS,
    ValidatorMissingError,
    register_validator,
    validator_config,
    verdict_schema,
)

from .test_transforms import GOOD, NOW, _kafka_rows, _parse, _with

# Wide time bounds, so that random timestamps are judged on their format alone.
_NO_TIME_BOUNDS = EventLimits(max_future_skew_seconds=10**12, max_age_seconds=10**12)
# Characters the patterns treat differently: allowed ones, lookalikes outside ASCII
# (Arabic-Indic and fullwidth digits, an accented letter) and separators.
_ALPHABET = "09afAFgzGZ_.:@-+ /\n\t#é٣５Ｆ"


def _mutations(seed: str, rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        chars = list(seed)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(chars) + 1)
            action = rng.choice(("replace", "insert", "delete"))
            if action == "replace" and position < len(chars):
                chars[position] = rng.choice(_ALPHABET)
            elif action == "insert":
                chars.insert(position, rng.choice(_ALPHABET))
            elif chars:
                del chars[min(position, len(chars) - 1)]
        out.append("".join(chars))
    return out


def _verdicts(spark: SparkSession, name: str, candidates: list[str]) -> list[dict[str, Any]]:
    payloads = [orjson.dumps({**GOOD, name: text}) for text in candidates]
    parsed = parse_events(_kafka_rows(spark, payloads), _NO_TIME_BOUNDS)
    return [row.asDict() for row in parsed.orderBy("source_offset").collect()]


def _expected_time(text: str) -> datetime | None:
    """What TIMESTAMP_PATTERN plus a real date, time and zone (±18:00) accept."""
    match = re.fullmatch(TIMESTAMP_PATTERN, text, re.ASCII)
    if not match:
        return None
    fraction, zone = match.group(1) or "", match.group(2)
    offset = timedelta(0)
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if minutes > 59 or hours * 60 + minutes > 18 * 60:
            return None
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    try:
        local = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    aware = local.replace(microsecond=micros, tzinfo=timezone(offset))
    return aware.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("name", "pattern", "seed"),
    [
        ("event_id", UUID_PATTERN, "8a9a021e-A648-47dd-8683-9eb905b6e6e3"),
        ("user_id", IDENTIFIER_PATTERN, "user-1.a:b@c_d"),
        ("session_id", IDENTIFIER_PATTERN, "S" * 128),
    ],
)
def test_string_formats_match_the_model_patterns(
    spark: SparkSession, name: str, pattern: str, seed: str
) -> None:
    rng = random.Random(name)
    candidates = [seed, "", *_mutations(seed, rng, 400)]
    outcomes = set()
    for row, text in zip(_verdicts(spark, name, candidates), candidates, strict=True):
        valid = re.fullmatch(pattern, text, re.ASCII) is not None
        outcomes.add(valid)
        assert (row[REASON] is None) == valid, (text, row[DETAIL])
        if not valid:
            assert row[DETAIL] == f"{name}: bad format"
    assert outcomes == {True, False}


def test_timestamps_match_the_model_pattern_and_the_calendar(spark: SparkSession) -> None:
    rng = random.Random(7)
    shaped = [
        f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
        f"T{rng.randint(0, 25):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}"
        f"{rng.choice(['', '.1', '.123456', '.123456789', '.1234567890'])}"
        f"{rng.choice(['Z', '+01:00', '-18:00', '+18:01', '+05:60', 'z', '+0100', ''])}"
        for _ in range(400)
    ]
    candidates = [*shaped, *_mutations("2026-03-01T11:59:00.123+01:00", rng, 300)]
    outcomes = set()
    for row, text in zip(_verdicts(spark, "event_time", candidates), candidates, strict=True):
        expected = _expected_time(text)
        outcomes.add(expected is None)
        assert (row[REASON] is None) == (expected is not None), (text, row[DETAIL])
        if expected is None:
            assert row[DETAIL] == "event_time: bad format"
        else:
            assert row["event_time"] == expected, text
    assert outcomes == {True, False}


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b'{"event_id": 1} trailing', Reason.NOT_JSON, "payload is not valid JSON"),
        (orjson.dumps(GOOD) + orjson.dumps(GOOD), Reason.NOT_JSON, "not valid JSON"),
        (b"   ", Reason.NOT_JSON, "payload is not valid JSON"),
        (b"null", Reason.NOT_OBJECT, "payload is JSON but not an object"),
        (b"\xff\xfe{}", Reason.NOT_JSON, "payload is not valid JSON"),
        (_with(value=True), Reason.INVALID_FIELD, "value: wrong JSON type"),
        (_with(value=None), Reason.MISSING_FIELD, "value"),
        (_with(event_type="x" * 100), Reason.UNKNOWN_EVENT_TYPE, "x" * 64),
        (_with(event_type=["click"]), Reason.UNKNOWN_EVENT_TYPE, '["click"]'),
        (_with(event_time="2026-02-30T00:00:00Z"), Reason.INVALID_FIELD, "bad format"),
    ],
)
def test_parse_edges(spark: SparkSession, payload: bytes, reason: Reason, detail: str) -> None:
    [row] = _parse(spark, [payload])
    assert row[REASON] == reason.value
    assert row[DETAIL] == detail or detail in row[DETAIL]
    assert row["event_id"] is None  # a dead letter carries no typed fields
    assert row["payload"] == payload


def test_nested_values_read_as_their_json_text(spark: SparkSession) -> None:
    [row] = _parse(spark, [_with(properties={"cart": {"items": [1, 2]}, "n": 3, "b": False})])
    assert row[REASON] is None
    assert row["properties"] == {"cart": '{"items":[1,2]}', "n": "3", "b": "false"}


def test_a_tombstone_is_not_json(spark: SparkSession) -> None:
    rows = [(b"k", None, "events", 0, 0, NOW)]
    frame = spark.createDataFrame(rows, _kafka_rows(spark, [b"{}"]).schema)
    [row] = parse_events(frame, EventLimits()).collect()
    assert row[REASON] == Reason.NOT_JSON.value


def test_the_config_carries_the_model_and_the_limits() -> None:
    config = orjson.loads(validator_config(EventLimits(max_properties=5)))
    assert [field["name"] for field in config["fields"]] == [
        name for name in verdict_schema().fieldNames() if name not in (REASON, DETAIL)
    ]
    assert config["limits"]["max_properties"] == 5
    assert "click" in config["event_types"]
    assert config["reasons"]["NOT_JSON"] == Reason.NOT_JSON.value


def test_a_missing_jar_says_how_to_build_it() -> None:
    """py4j answers an unknown class with a JavaPackage; the error names the fix."""
    missing = JavaPackage(VALIDATOR_CLASS, gateway_client=None)
    streaming = SimpleNamespace(EventValidator=missing)
    jvm = SimpleNamespace(dev=SimpleNamespace(rtap=SimpleNamespace(streaming=streaming)))
    session: Any = SimpleNamespace(_jvm=jvm)
    with pytest.raises(ValidatorMissingError, match="run `make setup`"):
        register_validator(session, EventLimits())
