"""The ingest side of a load test: a producer of synthetic events at a steady rate whose
acknowledgements are Locust requests (`ingest:ack`), and a freshness probe whose canary
events are polled through the API until they are queryable (`freshness:canary`).

Both produce as the workloads do: idempotent, acks=all, the synthetic generator's events
(1% malformed by default, as `rtap:producer.malformedShare` says) keyed by user.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

import gevent
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from locust import User, task
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from loadtests.sla_gate import FRESHNESS_GROUP, INGEST_GROUP, request_name
from loadtests.suites.options import SuiteOptions, suite_options
from workloads.events.model import AnalyticsEvent, EventType
from workloads.events.serde import encode_event
from workloads.producer.generator import TrafficGenerator
from workloads.producer.producer import idempotent_config

# Events are produced in slices this long: often enough to look steady to the broker.
_SLICE_S = 0.05
# How often the probe asks the API whether its canary is there yet: its resolution.
_POLL_S = 0.05
# A canary not queryable after this many freshness targets counts as failed.
_CANARY_PATIENCE = 20
ACK_NAME = request_name(INGEST_GROUP, "ack")
CANARY_NAME = request_name(FRESHNESS_GROUP, "canary")


def _producer(options: SuiteOptions, client_id: str) -> Producer:
    config = dict(options.kafka_config)
    bootstrap = config.pop("bootstrap.servers")
    return Producer(idempotent_config(bootstrap, options.settings.producer, client_id, config))


class KafkaUser(User):
    abstract = True

    def on_start(self) -> None:
        self.options: SuiteOptions = suite_options(self.environment.parsed_options)
        self.topic = self.options.settings.kafka.events_topic
        self.producer = _producer(self.options, f"rtap-loadtest-{type(self).__name__.lower()}")

    def on_stop(self) -> None:
        deadline = time.monotonic() + 10
        while len(self.producer) and time.monotonic() < deadline:
            self.producer.poll(0)
            gevent.sleep(0.01)

    def report(self, name: str, started: float, length: int, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="kafka" if name == ACK_NAME else "probe",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=error,
            context={},
        )

    def produce(self, key: bytes, value: bytes, on_delivery: Any) -> None:
        while True:
            try:
                self.producer.produce(self.topic, value, key, on_delivery=on_delivery)
                return
            except BufferError:  # the local queue is full: let the broker catch up
                self.producer.poll(0)
                gevent.sleep(0.005)


class IngestProducer(KafkaUser):
    """Produces `--rtap-ingest-rate` events per second; each acknowledgement (or
    delivery failure) is reported with its latency from the send."""

    fixed_count = 1

    def on_start(self) -> None:
        super().on_start()
        settings = self.options.settings
        self.generator = TrafficGenerator(settings.producer, settings.events)
        self.next_slice = time.perf_counter()
        self.owed = 0.0

    def wait_time(self) -> float:
        return 0.0

    @task
    def produce_slice(self) -> None:
        self.owed += self.options.ingest_rate * _SLICE_S
        count, self.owed = int(self.owed), self.owed - int(self.owed)
        if count:
            batch = self.generator.next_batch(time.time(), count)
            sent = time.perf_counter()
            for key, value in zip(batch.keys, batch.values, strict=True):
                self.produce(key, value, partial(self._acked, sent))
        self.next_slice += _SLICE_S
        while (wait := self.next_slice - time.perf_counter()) > 0:
            self.producer.poll(0)
            gevent.sleep(min(wait, 0.01))
        self.producer.poll(0)

    def _acked(self, sent: float, error: KafkaError | None, message: Message) -> None:
        failure = KafkaException(error) if error is not None else None
        self.report(ACK_NAME, sent, len(message.value() or b""), failure)


class FreshnessProbe(KafkaUser):
    """Every `--rtap-canary-interval` seconds, one valid event with a user id of its own;
    its freshness is the time from its event time until the API returns it."""

    fixed_count = 1

    def on_start(self) -> None:
        super().on_start()
        self.run_token = uuid.uuid4().hex[:8]
        self.sent = 0
        self.api = FastHttpSession(self.host, EventHook(), user=None)  # type: ignore[no-untyped-call]
        self.headers = {"X-API-Key": self.options.keys[0]}
        self.patience_s = _CANARY_PATIENCE * self.options.settings.sla.freshness_p95_seconds

    def wait_time(self) -> float:
        return self.options.canary_interval_s

    @task
    def send_canary(self) -> None:
        # Each canary is followed on its own: a slow one does not delay the next.
        gevent.spawn(self._follow_canary)

    def _follow_canary(self) -> None:
        self.sent += 1
        user_id = f"canary-{self.run_token}-{self.sent}"
        event = AnalyticsEvent(
            event_id=uuid.uuid4(),
            event_time=datetime.now(UTC),
            user_id=user_id,
            session_id=f"canary-{self.run_token}",
            event_type=EventType.PAGE_VIEW,
            value=0.0,
            properties={"source": "rtap-loadtest"},
        )
        # The event time is the clock the freshness is measured from.
        started = time.perf_counter() - (time.time() - event.event_time.timestamp())
        delivered: list[KafkaError | None] = []
        self.produce(user_id.encode(), encode_event(event), lambda e, _: delivered.append(e))
        while not delivered and time.perf_counter() - started < self.patience_s:
            self.producer.poll(0)
            gevent.sleep(0.005)
        if not delivered or delivered[0] is not None:
            reason = delivered[0] if delivered else "no acknowledgement"
            self.report(CANARY_NAME, started, 0, KafkaException(reason))
            return
        self.report(CANARY_NAME, started, 0, self._await_visible(user_id, started))

    def _await_visible(self, user_id: str, started: float) -> Exception | None:
        path = f"/v1/users/{user_id}/events"
        while time.perf_counter() - started < self.patience_s:
            response = self.api.get(path, params={"limit": 1}, headers=self.headers)
            if response.status_code == 200 and response.json()["data"]["items"]:  # noqa: PLR2004
                return None
            gevent.sleep(_POLL_S)
        return TimeoutError(f"canary {user_id} not queryable within {self.patience_s:g} s")
