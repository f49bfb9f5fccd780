from __future__ import annotations

import time
from collections import Counter

import orjson

from workloads.events import EventLimits, EventType, Reason, decode_event
from workloads.producer.generator import BREAKERS, TrafficGenerator
from workloads.producer.settings import ProducerSettings

NOW = 1_790_000_000.0


def _records(settings: ProducerSettings, count: int) -> list[tuple[bytes, bytes]]:
    generator = TrafficGenerator(settings, EventLimits())
    return [(r.key, r.value) for r in (generator.next_record(NOW) for _ in range(count))]


def test_same_seed_same_traffic() -> None:
    settings = ProducerSettings(seed=7, malformed_share=0.05)
    assert _records(settings, 2_000) == _records(settings, 2_000)


def test_different_seeds_differ() -> None:
    first = _records(ProducerSettings(seed=1), 100)
    second = _records(ProducerSettings(seed=2), 100)
    assert first != second


def test_no_seed_draws_a_fresh_one_each_time() -> None:
    first = TrafficGenerator(ProducerSettings(), EventLimits())
    second = TrafficGenerator(ProducerSettings(), EventLimits())
    assert first.seed != second.seed


def test_valid_events_decode_and_are_keyed_by_user() -> None:
    generator = TrafficGenerator(ProducerSettings(seed=3), EventLimits())
    for _ in range(500):
        record = generator.next_record(NOW)
        assert record.malformed is None
        event = decode_event(record.value)
        assert record.key == event.user_id.encode()
        assert record.event_id == event.event_id.bytes
        assert record.minute == int(event.event_time.timestamp()) // 60
        assert record.event_type == event.event_type.value


def test_event_mix_and_malformed_share_are_respected() -> None:
    settings = ProducerSettings(
        seed=11,
        malformed_share=0.1,
        event_mix={EventType.CLICK: 3.0, EventType.PURCHASE: 1.0},
    )
    generator = TrafficGenerator(settings, EventLimits())
    records = [generator.next_record(NOW) for _ in range(20_000)]
    malformed = sum(r.malformed is not None for r in records)
    assert 0.09 < malformed / len(records) < 0.11
    types = Counter(r.event_type for r in records if r.event_type)
    assert set(types) == {"click", "purchase"}
    assert 2.7 < types["click"] / types["purchase"] < 3.3


def test_every_breaker_is_used_and_breaks_the_event() -> None:
    generator = TrafficGenerator(ProducerSettings(seed=5, malformed_share=1.0), EventLimits())
    reasons: Counter[Reason] = Counter()
    for _ in range(3_000):
        record = generator.next_record(NOW)
        assert record.malformed is not None
        assert record.event_id is None
        reasons[record.malformed] += 1
    assert set(reasons) == {
        Reason.NOT_JSON,
        Reason.NOT_OBJECT,
        Reason.MISSING_FIELD,
        Reason.INVALID_FIELD,
        Reason.UNKNOWN_EVENT_TYPE,
        Reason.OVERSIZED,
        Reason.TOO_MANY_PROPERTIES,
        Reason.EVENT_TIME_IN_FUTURE,
        Reason.EVENT_TIME_TOO_OLD,
    }
    assert len(BREAKERS) == len(reasons)


def test_oversized_exceeds_the_limit() -> None:
    limits = EventLimits(max_event_bytes=1_000)
    generator = TrafficGenerator(ProducerSettings(seed=9, malformed_share=1.0), limits)
    sizes = [
        len(r.value)
        for r in (generator.next_record(NOW) for _ in range(500))
        if r.malformed is Reason.OVERSIZED
    ]
    assert sizes
    assert min(sizes) > limits.max_event_bytes


def test_late_events_are_in_the_past_within_the_bound() -> None:
    settings = ProducerSettings(seed=4, late_share=1.0, max_lateness_seconds=120)
    generator = TrafficGenerator(settings, EventLimits())
    now = time.time()
    for _ in range(200):
        event = decode_event(generator.next_record(now).value)
        age = now - event.event_time.timestamp()
        assert -0.001 <= age <= 120.001


def test_not_json_is_not_json() -> None:
    generator = TrafficGenerator(ProducerSettings(seed=2, malformed_share=1.0), EventLimits())
    for _ in range(500):
        record = generator.next_record(NOW)
        if record.malformed is Reason.NOT_JSON:
            try:
                orjson.loads(record.value)
            except orjson.JSONDecodeError:
                continue
            raise AssertionError(f"valid JSON labelled not_json: {record.value!r}")
