"""The idempotent Kafka producer of synthetic events."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from confluent_kafka import KafkaError, Message, Producer

from workloads.events.model import EventLimits
from workloads.kafka import client_config
from workloads.producer.generator import SyntheticRecord, TrafficGenerator
from workloads.producer.ground_truth import GroundTruth
from workloads.producer.settings import ProducerSettings

log = structlog.get_logger(__name__)

# Records generated per pass of the rate loop: large enough to amortise the clock reads,
# small enough that a slow pass does not make the rate bursty.
_CHUNK = 2_000
_POLL_EVERY = 500


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
        self._producer = Producer(
            client_config(
                bootstrap,
                **{
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": settings.linger_ms,
                    "compression.type": settings.compression,
                    "queue.buffering.max.messages": settings.queue_max_messages,
                    "client.id": "rtap-producer",
                    **(extra_config or {}),
                },
            )
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
        self.stats.started_at = time.time()
        start = time.monotonic()
        sent = 0
        while not stop.is_set() and (limit is None or sent < limit):
            elapsed = time.monotonic() - start
            if duration_s is not None and elapsed >= duration_s:
                break
            due = min(int(rate * elapsed) - sent, _CHUNK)
            if limit is not None:
                due = min(due, limit - sent)
            if due <= 0:
                self._producer.poll(0.002)
                continue
            now = time.time()
            for i in range(due):
                self._send(self._generator.next_record(now))
                if i % _POLL_EVERY == 0:
                    self._producer.poll(0)
            sent += due
        return self.close()

    def close(self, timeout_s: float = 60.0) -> ProducerStats:
        """Wait for outstanding deliveries and close the ground truth."""
        remaining = self._producer.flush(timeout_s)
        self.stats.undelivered_at_close = remaining
        self.stats.finished_at = time.time()
        self._truth.close()
        if remaining:
            log.error("deliveries still pending at close", pending=remaining)
        return self.stats

    def _send(self, record: SyntheticRecord) -> None:
        callback = partial(self._delivered, record)
        while True:
            try:
                self._producer.produce(self._topic, record.value, record.key, on_delivery=callback)
                break
            except BufferError:
                # The local queue is full: the broker is slower than we are. Wait for
                # deliveries to drain rather than dropping the record.
                self.stats.queue_full_waits += 1
                self._producer.poll(0.05)
        self.stats.attempted += 1

    def _delivered(self, record: SyntheticRecord, error: KafkaError | None, _: Message) -> None:
        if error is not None:
            self.stats.failed += 1
            self._truth.record_failure(error.name())
            return
        self.stats.acked += 1
        if record.malformed is not None:
            self._truth.record_malformed(record.malformed)
        elif record.event_id is not None and record.event_type is not None:
            self._truth.record_valid(
                record.event_id, record.event_type, record.minute, record.amount
            )
