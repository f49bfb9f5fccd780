from __future__ import annotations

import time
from collections import Counter

import orjson

from workloads.events import EventLimits, EventType, Reason, decode_event, encode_event
from workloads.producer.breakers import BREAKERS
from workloads.producer.generator import TrafficGenerator
from workloads.producer.settings import ProducerSettings

NOW = 1_790_000_000.0


def _records(settings: ProducerSettings, count: int) -> list[tuple[bytes, bytes]]:
    batch = TrafficGenerator(settings, EventLimits()).next_batch(NOW, count)
    return list(zip(batch.keys, batch.values, strict=True))


def test_same_seed_same_traffic() -> None:
    settings = ProducerSettings(seed=7, malformed_share=0.05)
    assert _records(settings, 2_000) == _records(settings, 2_000)


def test_the_sequence_does_not_depend_on_batch_sizes() -> None:
    """The rate loop asks for as many records as are due, which depends on timing."""
    settings = ProducerSettings(seed=7, malformed_share=0.05, late_share=0.1)
    sliced = TrafficGenerator(settings, EventLimits())
    values = [v for size in (1, 700, 4_095, 3, 5_000) for v in sliced.next_batch(NOW, size).values]
    whole = TrafficGenerator(settings, EventLimits()).next_batch(NOW, len(values))
    assert values == whole.values


def test_valid_rows_encode_exactly_like_the_model_serializer() -> None:
    """Rows are built column by column; each must be what encode_event writes for the
    event it decodes to, so the bulk path cannot drift from the model."""
    settings = ProducerSettings(seed=8, late_share=0.3, new_session_share=0.5)
    for record in TrafficGenerator(settings, EventLimits()).next_batch(NOW, 3_000).records():
        assert encode_event(decode_event(record.value)) == record.value


def test_users_keep_their_session_until_a_new_one_starts() -> None:
    settings = ProducerSettings(seed=6, users=3, new_session_share=0.1)
    batch = TrafficGenerator(settings, EventLimits()).next_batch(NOW, 2_000)
    last_session: dict[str, str] = {}
    changes = 0
    for event in map(decode_event, batch.values):
        previous = last_session.get(event.user_id)
        changes += previous is not None and previous != event.session_id
        last_session[event.user_id] = event.session_id
    assert set(last_session) == {"u0000000", "u0000001", "u0000002"}
    # About one event in ten starts a new session.
    assert 0.07 < changes / len(batch) < 0.13


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
    for record in generator.next_batch(NOW, 500).records():
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
    records = generator.next_batch(NOW, 20_000).records()
    malformed = sum(r.malformed is not None for r in records)
    assert 0.09 < malformed / len(records) < 0.11
    types = Counter(r.event_type for r in records if r.event_type)
    assert set(types) == {"click", "purchase"}
    assert 2.7 < types["click"] / types["purchase"] < 3.3


def test_every_breaker_is_used_and_breaks_the_event() -> None:
    generator = TrafficGenerator(ProducerSettings(seed=5, malformed_share=1.0), EventLimits())
    reasons: Counter[Reason] = Counter()
    for record in generator.next_batch(NOW, 3_000).records():
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
        for r in generator.next_batch(NOW, 500).records()
        if r.malformed is Reason.OVERSIZED
    ]
    assert sizes
    assert min(sizes) > limits.max_event_bytes


def test_late_events_are_in_the_past_within_the_bound() -> None:
    settings = ProducerSettings(seed=4, late_share=1.0, max_lateness_seconds=120)
    generator = TrafficGenerator(settings, EventLimits())
    now = time.time()
    for value in generator.next_batch(now, 200).values:
        event = decode_event(value)
        age = now - event.event_time.timestamp()
        assert -0.001 <= age <= 120.001


def test_not_json_is_not_json() -> None:
    generator = TrafficGenerator(ProducerSettings(seed=2, malformed_share=1.0), EventLimits())
    for record in generator.next_batch(NOW, 500).records():
        if record.malformed is Reason.NOT_JSON:
            try:
                orjson.loads(record.value)
            except orjson.JSONDecodeError:
                continue
            raise AssertionError(f"valid JSON labelled not_json: {record.value!r}")
