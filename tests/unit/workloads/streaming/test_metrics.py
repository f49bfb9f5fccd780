from __future__ import annotations

import numpy as np

from workloads.streaming.metrics import BatchRecord, LatencyHistogram, PipelineMetrics


def test_quantiles_are_within_two_percent() -> None:
    rng = np.random.default_rng(1)
    values = rng.lognormal(mean=-0.5, sigma=0.8, size=200_000)
    histogram = LatencyHistogram()
    histogram.add(values)
    for q in (0.5, 0.95, 0.99):
        exact = float(np.quantile(values, q))
        estimate = histogram.quantile(q)
        assert estimate is not None
        assert abs(estimate - exact) / exact < 0.02


def test_empty_and_subtracted_histograms() -> None:
    assert LatencyHistogram().quantile(0.5) is None
    before = LatencyHistogram()
    before.add(np.array([10.0] * 100))
    after = LatencyHistogram(before.counts.copy())
    after.add(np.array([0.1] * 100))
    delta = after.minus(before)
    assert delta.total == 100
    estimate = delta.quantile(0.99)
    assert estimate is not None and abs(estimate - 0.1) < 0.003
    assert LatencyHistogram.from_list(after.to_list()).total == 200


def test_metrics_record_batches_and_stages() -> None:
    metrics = PipelineMetrics()
    record = BatchRecord(
        "ingest", 3, 100.0, rows=10, dead_letters=1, stages_s={"collect": 0.5, "insert": 0.25}
    )
    metrics.record_ingest(record, np.array([0.2] * 10))
    metrics.add_stage_time("spark.ingest.addBatch", 0.75)
    snapshot = metrics.snapshot(timeline_since=0.0)
    assert snapshot["rows_stored"] == 10
    assert snapshot["dead_letters_written"] == 1
    assert snapshot["batches"] == {"ingest": 1}
    assert snapshot["stage_totals_s"] == {
        "ingest.collect": 0.5,
        "ingest.insert": 0.25,
        "spark.ingest.addBatch": 0.75,
    }
    assert [r["batch_id"] for r in snapshot["timeline"]] == [3]
    assert "timeline" not in metrics.snapshot()
