from __future__ import annotations

import base64

import orjson

from workloads.streaming.dead_letters import DeadLetter, encode_dead_letter


def _letter(payload: bytes) -> DeadLetter:
    return DeadLetter("events", 2, 41, 1_700_000_000_000, b"u1", payload, "not_json", "detail")


def test_a_dead_letter_carries_reason_source_and_payload() -> None:
    record = orjson.loads(encode_dead_letter(_letter(b"{broken"), 123))
    assert record["reason"] == "not_json"
    assert record["detail"] == "detail"
    assert record["source"] == {
        "topic": "events",
        "partition": 2,
        "offset": 41,
        "timestamp_ms": 1_700_000_000_000,
    }
    assert record["payload"] == "{broken"
    assert record["encoding"] == "utf-8"
    assert record["dead_lettered_at_ms"] == 123


def test_binary_payloads_survive_as_base64() -> None:
    raw = b"\xff\xfe\x00binary"
    record = orjson.loads(encode_dead_letter(_letter(raw), 1))
    assert record["encoding"] == "base64"
    assert base64.b64decode(record["payload"]) == raw
