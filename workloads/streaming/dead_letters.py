"""Exactly-once dead letters on Kafka.

Each micro-batch's dead letters and a progress marker (the highest source offset
dead-lettered, per source partition) are written in one Kafka transaction. After a
crash the writer reads the markers back and skips letters at or below them, so a
replayed batch adds nothing; consumers reading with isolation.level=read_committed see
each dead letter exactly once. Markers are keyed by source offsets, not batch ids, so
this holds even when the streaming checkpoint is reset.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from workloads.kafka import READER_GROUP_PREFIX, client_config

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp_ms: int
    key: bytes | None
    payload: bytes
    reason: str
    detail: str


def encode_dead_letter(letter: DeadLetter, dead_lettered_at_ms: int) -> bytes:
    """The DLQ record value: the reason, where it came from, and the untouched payload."""
    try:
        payload: dict[str, str] = {"payload": letter.payload.decode("utf-8"), "encoding": "utf-8"}
    except UnicodeDecodeError:
        payload = {"payload": base64.b64encode(letter.payload).decode(), "encoding": "base64"}
    return orjson.dumps(
        {
            "reason": letter.reason,
            "detail": letter.detail,
            "source": {
                "topic": letter.source_topic,
                "partition": letter.source_partition,
                "offset": letter.source_offset,
                "timestamp_ms": letter.source_timestamp_ms,
            },
            "dead_lettered_at_ms": dead_lettered_at_ms,
            **payload,
        }
    )


def _progress_key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


class DeadLetterWriter:
    """Transactional writer of dead letters; one instance per streaming query."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        progress_topic: str,
        transactional_id: str,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._progress_topic = progress_topic
        self._extra_config = extra_config or {}
        self._producer = Producer(
            client_config(
                bootstrap,
                **{
                    "transactional.id": transactional_id,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "client.id": "rtap-dead-letters",
                    **self._extra_config,
                },
            )
        )
        self._progress: dict[str, int] = {}

    def start(self, timeout_s: float = 60.0) -> None:
        """Fence any previous instance (aborting its open transaction), then load progress."""
        self._producer.init_transactions(timeout_s)
        self._progress = read_progress(self._bootstrap, self._progress_topic, self._extra_config)
        log.info("dead-letter writer ready", partitions_with_progress=len(self._progress))

    def write(self, letters: Sequence[DeadLetter]) -> int:
        """Write the letters not written before; returns how many were new."""
        fresh = [
            letter
            for letter in letters
            if letter.source_offset
            > self._progress.get(_progress_key(letter.source_topic, letter.source_partition), -1)
        ]
        if not fresh:
            return 0
        marks: dict[str, int] = {}
        now_ms = int(time.time() * 1000)
        self._producer.begin_transaction()
        try:
            for letter in fresh:
                self._produce(
                    self._topic,
                    letter.key,
                    encode_dead_letter(letter, now_ms),
                    [("rtap-reason", letter.reason.encode())],
                )
                key = _progress_key(letter.source_topic, letter.source_partition)
                marks[key] = max(marks.get(key, -1), letter.source_offset)
            for key, offset in marks.items():
                self._produce(self._progress_topic, key.encode(), str(offset).encode(), [])
            self._producer.commit_transaction()
        except KafkaException:
            self._producer.abort_transaction()
            raise
        self._progress.update(marks)
        return len(fresh)

    def close(self) -> None:
        self._producer.flush(10)

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, str | bytes | None]],
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers)
                return
            except BufferError:
                self._producer.poll(0.05)


def read_progress(
    bootstrap: str, progress_topic: str, extra_config: dict[str, Any] | None = None
) -> dict[str, int]:
    """Latest committed marker per source partition."""
    progress: dict[str, int] = {}
    for message in read_committed(bootstrap, progress_topic, extra_config):
        key = message.key()
        value = message.value()
        if key is not None and value is not None:
            progress[key.decode()] = int(value)
    return progress


@dataclass
class DeadLetterCount:
    total: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    distinct_sources: int = 0


def count_dead_letters(
    bootstrap: str,
    topic: str,
    source_start_offsets: dict[int, int] | None = None,
    extra_config: dict[str, Any] | None = None,
) -> DeadLetterCount:
    """Count committed dead letters, optionally only those from source offsets >= a start."""
    count = DeadLetterCount()
    seen: set[tuple[str, int, int]] = set()
    for message in read_committed(bootstrap, topic, extra_config):
        value = message.value()
        if value is None:
            continue
        letter = orjson.loads(value)
        source = letter["source"]
        if source_start_offsets is not None and source["offset"] < source_start_offsets.get(
            source["partition"], 0
        ):
            continue
        count.total += 1
        count.by_reason[letter["reason"]] += 1
        seen.add((source["topic"], source["partition"], source["offset"]))
    count.distinct_sources = len(seen)
    return count


def read_committed(
    bootstrap: str,
    topic: str,
    extra_config: dict[str, Any] | None = None,
    timeout_s: float = 60.0,
) -> Iterable[Any]:
    """Every committed record of a topic, from the beginning to the current end."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"{READER_GROUP_PREFIX}{topic}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                **(extra_config or {}),
            },
        )
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        partitions = sorted(metadata.partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = set(partitions)
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"reading {topic}: partitions {sorted(pending)} did not reach their end"
                )
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                    continue
                raise KafkaException(error)
            yield message
    finally:
        consumer.close()
