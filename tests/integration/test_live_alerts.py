"""The local Prometheus evaluates the stack's own alert rules against the real engines:
a stopped redis-server makes RedisDown fire and clear once it is back, and a stopped
broker makes StreamingJobStalled fire (the local stack shortens every `for:`)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer

from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.processes.monitoring import active_alerts
from workloads.kafka import client_config

pytestmark = pytest.mark.integration


def alerts(processes: LocalProcesses) -> dict[str, str]:
    """Alert name to state (pending, firing), as `rtap status` reads them."""
    active = active_alerts(processes.settings)
    assert active is not None, "the local Prometheus does not answer"
    return {alert.name: alert.state for alert in active}


def query(processes: LocalProcesses, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{processes.settings.local.prometheus_port}/api/v1/query"
    result: list[dict[str, Any]] = httpx.get(url, params={"query": expr}, timeout=5).json()["data"][
        "result"
    ]
    return result


def wait_for(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s:.0f} s")
        time.sleep(1)


def test_redis_down_fires_while_redis_is_stopped_and_clears_after(
    processes: LocalProcesses,
) -> None:
    wait_for(lambda: query(processes, "redis_up == 1"), 60, "redis_up is not scraped")
    assert "RedisDown" not in alerts(processes)
    processes.kill("redis")
    try:
        wait_for(
            lambda: alerts(processes).get("RedisDown") == "firing", 90, "RedisDown did not fire"
        )
    finally:
        processes.restart("redis")
    wait_for(lambda: "RedisDown" not in alerts(processes), 90, "RedisDown did not clear")


def test_a_stopped_broker_makes_the_stalled_job_alert_fire(processes: LocalProcesses) -> None:
    # A batch must have committed first: the alert counts from the last one.
    producer = Producer(client_config(processes.bootstrap))
    for number in range(20):
        producer.produce(processes.settings.kafka.events_topic, f"not json {number}".encode())
    assert producer.flush(30) == 0
    wait_for(
        lambda: query(
            processes,
            "rtap_stream_lag_records == 0 and on() "
            'rtap_stream_last_batch_timestamp_seconds{query="ingest"} > 0',
        ),
        120,
        "the ingest query did not commit a batch",
    )
    assert "StreamingJobStalled" not in alerts(processes)
    processes.kill("kafka")
    try:
        wait_for(
            lambda: alerts(processes).get("StreamingJobStalled") == "firing",
            180,
            "StreamingJobStalled did not fire",
        )
    finally:
        processes.restart("kafka")
    # Back, drained and idle: the alert's `unless` clause silences it.
    wait_for(
        lambda: "StreamingJobStalled" not in alerts(processes),
        240,
        "StreamingJobStalled did not clear",
    )
