"""The whole pipeline on real engines: every acknowledged event stored exactly once."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import httpx
import pytest
from confluent_kafka import Consumer
from prometheus_client.parser import text_string_to_metric_families

from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.pipeline_run import PipelineRun
from workloads import telemetry as t
from workloads.kafka import client_config, end_offsets

pytestmark = pytest.mark.integration

EVENTS = 200_000


def test_two_hundred_thousand_events_with_one_percent_malformed(
    processes: LocalProcesses, control: ControlClient
) -> None:
    producer = processes.settings.producer.model_copy(
        update={
            "rate_per_second": 25_000,
            "malformed_share": 0.01,
            "late_share": 0.02,
            "seed": 20_261_126,
        }
    )
    run = PipelineRun(processes, control, producer)
    run.prepare()
    stats = run.produce(None, threading.Event(), limit=EVENTS)
    assert stats.failed == 0 and stats.undelivered_at_close == 0
    run.drain(timeout_s=600)
    summary = run.verify()

    assert summary.produced == EVENTS
    assert 0.007 * EVENTS < summary.malformed < 0.013 * EVENTS
    assert summary.stored_raw == summary.valid  # exactly: nothing lost, nothing extra
    assert summary.duplicates == 0
    assert summary.missing == 0
    assert summary.unexpected == 0
    assert summary.rollup_cells > 0
    assert summary.rollup_mismatches == 0
    assert summary.dead_lettered == summary.malformed
    assert summary.dead_letters_by_reason == summary.malformed_by_reason
    assert len(summary.malformed_by_reason) == 9  # every kind of bad input was exercised
    assert summary.passed, summary.problems

    assert control.stats()["queries"]["ingest"]["restarts"] == 0
    assert summary.session_duplicates == 0
    _assert_sessions_arrive(control)
    _assert_keyed_by_user(processes, sample=EVENTS // 2)
    _assert_metrics_agree(processes, summary.stored_raw, summary.malformed_by_reason)


def _assert_metrics_agree(
    processes: LocalProcesses, stored: int, dead_by_reason: dict[str, int]
) -> None:
    """The platform's /metrics tells what the run verified: stored and dead-lettered
    counts, freshness observations, and, drained, no lag on any partition."""
    topic = processes.settings.kafka.events_topic
    log_end = end_offsets(processes.bootstrap, topic)
    deadline = time.monotonic() + 30
    while True:
        samples = _scrape(processes.settings.local.platform_port)
        lag = {labels["partition"]: v for labels, v in samples.get(t.LAG, [])}
        ends = {labels["partition"]: v for labels, v in samples.get(t.LOG_END_OFFSET, [])}
        if ends == {str(p): float(o) for p, o in log_end.items()} or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ends == {str(p): float(o) for p, o in log_end.items()}
    assert lag == dict.fromkeys(ends, 0.0)
    processed = {labels["partition"]: v for labels, v in samples[t.PROCESSED_OFFSET]}
    assert processed == ends
    # Other tests may share this platform: its counters include their events too.
    ((_, stored_total),) = samples[t.counter(t.EVENTS_STORED)]
    assert stored_total >= stored
    dead = {labels["reason"]: v for labels, v in samples[t.counter(t.DEAD_LETTERS)]}
    assert set(dead) >= set(dead_by_reason)
    assert all(dead[reason] >= count for reason, count in dead_by_reason.items())
    ((_, observed),) = samples[f"{t.FRESHNESS}_count"]
    assert observed >= stored
    target = t.bucket_label(processes.settings.sla.freshness_p95_seconds)
    assert any(labels.get("le") == target for labels, _ in samples[f"{t.FRESHNESS}_bucket"])


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def _assert_sessions_arrive(control: ControlClient, timeout_s: float = 180) -> None:
    """Sessions closed by the watermark reach ClickHouse. They lag ingest by design: the
    sessionizer process runs at low priority, so it waits while ingest uses the cores."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = control.stats()
        if stats["sessions_stored"] > 0:
            assert stats["queries"]["sessions"]["active"], stats["queries"]["sessions"]
            return
        time.sleep(0.5)
    raise AssertionError(f"no closed sessions stored within {timeout_s:.0f} s")


def _assert_keyed_by_user(processes: LocalProcesses, sample: int) -> None:
    """Every user's records are in one partition (the producer sends in batches, and
    the partitioner must still run per record, on its key)."""
    consumer = Consumer(
        client_config(
            processes.bootstrap,
            **{"group.id": "keyed-check", "auto.offset.reset": "earliest"},
        )
    )
    consumer.subscribe([processes.settings.kafka.events_topic])
    partitions_of: defaultdict[bytes, set[int]] = defaultdict(set)
    read = 0
    try:
        while read < sample:
            messages = consumer.consume(10_000, timeout=10)
            assert messages, f"the events topic ran dry after {read} records"
            for message in messages:
                partitions_of[message.key() or b""].add(message.partition() or 0)
            read += len(messages)
    finally:
        consumer.close()
    assert len({p for parts in partitions_of.values() for p in parts}) > 1
    assert all(len(parts) == 1 for parts in partitions_of.values())
