"""The streaming job's Prometheus series, as a scrape reads them."""

from __future__ import annotations

from collections import Counter

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from workloads import telemetry as t
from workloads.streaming.exporter import PipelineCollector
from workloads.streaming.metrics import BatchRecord, Buckets, PipelineMetrics

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(collector: PipelineCollector) -> Samples:
    registry = CollectorRegistry()
    registry.register(collector)
    samples: Samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def batch(rows: int, dead: int, seconds: float = 0.4) -> BatchRecord:
    return BatchRecord("ingest", 1, 1_700_000_000.0, rows, dead, {"insert": seconds})


def test_counts_freshness_and_batch_durations_are_published() -> None:
    metrics = PipelineMetrics.for_freshness_target(1.5)
    metrics.record_ingest(
        batch(4, 3), np.array([0.2, 1.5, 1.6, 40.0]), Counter({"invalid_json": 2, "too_large": 1})
    )
    metrics.record_sink_error("ingest")
    samples = scrape(PipelineCollector(metrics, "events", dict, dict))

    assert samples[t.counter(t.EVENTS_STORED)] == [({}, 4.0)]
    assert sorted(samples[t.counter(t.DEAD_LETTERS)], key=str) == [
        ({"reason": "invalid_json"}, 2.0),
        ({"reason": "too_large"}, 1.0),
    ]
    assert samples[t.counter(t.SINK_ERRORS)] == [({"query": "ingest"}, 1.0)]
    assert samples[t.LAST_BATCH] == [({"query": "ingest"}, 1_700_000_000.0)]
    buckets = {labels["le"]: v for labels, v in samples[f"{t.FRESHNESS}_bucket"]}
    # The target is an edge, and a value equal to an edge counts as at or below it.
    assert buckets["1.5"] == 2.0 and buckets["1.0"] == 1.0 and buckets["+Inf"] == 4.0
    assert samples[f"{t.FRESHNESS}_sum"] == [({}, 43.3)]
    durations = {labels["le"]: v for labels, v in samples[f"{t.BATCH_DURATION}_bucket"]}
    assert durations["0.25"] == 0.0 and durations["0.5"] == 1.0


def test_the_lag_is_the_log_end_minus_what_the_last_batch_read() -> None:
    collector = PipelineCollector(
        PipelineMetrics(), "events", lambda: {0: 90, 1: 200}, lambda: {0: 100, 1: 200, 2: 5}
    )
    samples = scrape(collector)
    lag = {labels["partition"]: v for labels, v in samples[t.LAG]}
    assert lag == {"0": 10.0, "1": 0.0, "2": 5.0}
    assert all(labels["topic"] == "events" for labels, _ in samples[t.LOG_END_OFFSET])


def test_no_log_end_means_no_lag_series_rather_than_a_frozen_one() -> None:
    samples = scrape(PipelineCollector(PipelineMetrics(), "events", lambda: {0: 90}, dict))
    assert t.LAG not in samples and t.LOG_END_OFFSET not in samples
    assert samples[t.PROCESSED_OFFSET] == [({"topic": "events", "partition": "0"}, 90.0)]


def test_buckets_count_values_at_or_below_each_edge() -> None:
    buckets = Buckets((1.0, 2.0))
    buckets.add(np.array([0.5, 1.0, 1.5, 3.0]))
    buckets.add(np.array([2.0]))
    assert buckets.at_or_below.tolist() == [2, 4]
    assert buckets.count == 5 and buckets.sum == 8.0
