"""The idempotent Kafka producer of synthetic events."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from confluent_kafka import KafkaError, Message, Producer

from workloads.events.model import EventLimits
from workloads.kafka import client_config
from workloads.producer.generator import RecordBatch, TrafficGenerator
from workloads.producer.ground_truth import GroundTruth
from workloads.producer.settings import ProducerSettings

log = structlog.get_logger(__name__)

# Records generated per pass of the rate loop: at most _CHUNK, so a slow pass does not
# make the rate bursty, and at least _MIN_BATCH_S worth, because a batch's fixed cost
# (numpy calls, one ground-truth update) made passes of a few records each cost 29 µs
# per record instead of 8 (bench process CPU per event at 20,000 events/s).
_CHUNK = 2_000
_MIN_BATCH_S = 0.01


@dataclass
class ProducerStats:
    attempted: int = 0
    acked: int = 0
    failed: int = 0
    # Times produce() found the local queue full and waited for the broker (back-pressure).
    queue_full_waits: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    undelivered_at_close: int = 0

    @property
    def achieved_rate(self) -> float:
        end = self.finished_at or time.time()
        return self.attempted / max(end - self.started_at, 1e-9)


def idempotent_config(
    bootstrap: str, settings: ProducerSettings, client_id: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """librdkafka settings of every producer of events: idempotent, acks=all, batched as
    the stack's producer section says; `extra` adds security or overrides."""
    return client_config(
        bootstrap,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": settings.linger_ms,
            "compression.type": settings.compression,
            "queue.buffering.max.messages": settings.queue_max_messages,
            "client.id": client_id,
            **extra,
        },
    )


class EventProducer:
    """Sends synthetic events at a steady rate and records what Kafka acknowledged.

    Idempotence with acks=all means a retried send is written once; a record counts
    in the ground truth only when its delivery report says it was written.
    """

    def __init__(
        self,
        *,
        settings: ProducerSettings,
        limits: EventLimits,
        bootstrap: str,
        topic: str,
        truth: GroundTruth,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._truth = truth
        self._generator = TrafficGenerator(settings, limits)
        self.stats = ProducerStats()
        # Batches whose delivery reports are not all in yet.
        self._unfinished: set[InFlightBatch] = set()
        self._producer = Producer(
            idempotent_config(bootstrap, settings, "rtap-producer", extra_config or {})
        )

    @property
    def seed(self) -> int:
        return self._generator.seed

    def run(
        self, duration_s: float | None, stop: threading.Event, limit: int | None = None
    ) -> ProducerStats:
        """Produce until `duration_s` has passed, `limit` records were sent or `stop` is
        set, whichever comes first; then flush."""
        rate = self._settings.rate_per_second
        min_batch = max(1, min(int(rate * _MIN_BATCH_S), _CHUNK))
        self.stats.started_at = time.time()
        start = time.monotonic()
        sent = 0
        while not stop.is_set() and (limit is None or sent < limit):
            elapsed = time.monotonic() - start
            if duration_s is not None and elapsed >= duration_s:
                break
            remaining = limit - sent if limit is not None else _CHUNK
            due = min(int(rate * elapsed) - sent, _CHUNK, remaining)
            if due < min(min_batch, remaining):
                self._producer.poll(0.002)
                continue
            self._send(self._generator.next_batch(time.time(), due))
            sent += due
        return self.close()

    def close(self, timeout_s: float = 60.0) -> ProducerStats:
        """Wait for outstanding deliveries and close the ground truth.

        Records still undelivered after `timeout_s` are purged: their reports then come
        back as failures, so every batch learns which of its records were written.
        """
        remaining = self._producer.flush(timeout_s)
        self.stats.undelivered_at_close = remaining
        if remaining:
            log.error("deliveries still pending at close; purging them", pending=remaining)
            self._producer.purge(in_queue=True, in_flight=True)
            self._producer.flush(0)
        for in_flight in list(self._unfinished):
            in_flight.finish()
        self.stats.finished_at = time.time()
        self._truth.close()
        return self.stats

    def _send(self, batch: RecordBatch) -> None:
        """Queue a batch with one produce_batch call: per-record produce() calls, each
        with its own callback, cost 2.7 µs per record against 0.7."""
        in_flight = InFlightBatch(batch, self._truth, self.stats, self._unfinished)
        indices = list(range(len(batch)))
        messages: list[dict[str, Any]] = [
            {"value": value, "key": key}
            for value, key in zip(batch.values, batch.keys, strict=True)
        ]
        while messages:
            queued = self._producer.produce_batch(
                self._topic, messages, on_delivery=in_flight.delivered
            )
            if queued == len(messages):
                break
            retry_indices: list[int] = []
            retry: list[dict[str, Any]] = []
            for index, message in zip(indices, messages, strict=True):
                error: KafkaError | None = message.pop("_error", None)
                if error is None:
                    continue
                if error.code() == KafkaError._QUEUE_FULL:
                    retry_indices.append(index)
                    retry.append(message)
                else:
                    in_flight.refused(index, error)
            if retry:
                # The local queue is full: the broker is slower than we are. Wait for
                # deliveries to drain rather than dropping the records.
                self.stats.queue_full_waits += 1
                self._producer.poll(0.05)
            indices, messages = retry_indices, retry
        self._producer.poll(0)
        self.stats.attempted += len(batch)


class InFlightBatch:
    """A batch's outstanding deliveries. The ground truth counts the batch in one
    vectorised step once all its delivery reports are in, instead of one call per
    record. Reports carry no record index: a success is only counted, and a failure
    (rare) is matched to its record by payload."""

    def __init__(
        self,
        batch: RecordBatch,
        truth: GroundTruth,
        stats: ProducerStats,
        unfinished: set[InFlightBatch],
    ) -> None:
        self._batch = batch
        self._truth = truth
        self._stats = stats
        self._unfinished = unfinished
        self._pending = len(batch)
        self._failed: list[int] = []
        # Payload -> indices of the records not yet matched to a failure; built on the
        # first failure. Identical payloads (malformed ones can be) are interchangeable.
        self._unmatched: dict[bytes, list[int]] | None = None
        unfinished.add(self)

    def delivered(self, error: KafkaError | None, message: Message) -> None:
        if self._pending < 0:
            return  # finished at close: late reports are not counted
        if error is not None:
            self._fail(self._index_of(message.value() or b""), error)
        self._pending -= 1
        if self._pending == 0:
            self.finish()

    def refused(self, index: int, error: KafkaError) -> None:
        """produce_batch refused the record outright; no report will come for it."""
        if self._unmatched is not None:
            self._unmatched[self._batch.values[index]].remove(index)
        self._fail(index, error)
        self._pending -= 1
        if self._pending == 0:
            self.finish()

    def finish(self) -> None:
        """Count what was delivered. A batch still missing reports at close (after the
        purge, which reports every record) cannot tell which records were written: it
        counts none, and says so."""
        self._unfinished.discard(self)
        delivered = np.ones(len(self._batch), dtype=np.bool_)
        if self._pending > 0:
            log.error("a batch finished with reports missing", missing=self._pending)
            delivered[:] = False
        delivered[self._failed] = False
        self._pending = -1
        self._stats.acked += int(delivered.sum())
        self._truth.record_batch(self._batch, delivered)

    def _fail(self, index: int, error: KafkaError) -> None:
        self._failed.append(index)
        self._stats.failed += 1
        self._truth.record_failure(error.name())

    def _index_of(self, payload: bytes) -> int:
        if self._unmatched is None:
            self._unmatched = {}
            for index, value in enumerate(self._batch.values):
                self._unmatched.setdefault(value, []).append(index)
            for index in self._failed:
                self._unmatched[self._batch.values[index]].remove(index)
        return self._unmatched[payload].pop()
