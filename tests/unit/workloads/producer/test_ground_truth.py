from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from workloads.events import EventLimits
from workloads.producer.generator import RecordBatch, TrafficGenerator
from workloads.producer.ground_truth import IDS_FILE, GroundTruth, GroundTruthSummary, sums_match
from workloads.producer.settings import ProducerSettings

NOW = 1_790_000_000.0


def _batch(count: int, malformed_share: float = 0.0) -> RecordBatch:
    settings = ProducerSettings(seed=1, malformed_share=malformed_share)
    return TrafficGenerator(settings, EventLimits()).next_batch(NOW, count)


def test_delivered_records_survive_close_and_load(tmp_path: Path) -> None:
    batch = _batch(2_000, malformed_share=0.1)
    delivered = np.ones(len(batch), dtype=np.bool_)
    delivered[:100] = False  # their delivery reports said they failed
    truth = GroundTruth(tmp_path)
    truth.record_batch(batch, delivered)
    truth.record_failure("_MSG_TIMED_OUT")
    truth.close()

    records = batch.records()[100:]
    valid = [r for r in records if r.malformed is None]
    expected_cells: dict[tuple[str, int], list[float]] = {}
    for record in valid:
        assert record.event_type is not None
        expected_cells.setdefault((record.event_type, record.minute), []).append(record.amount)
    loaded = GroundTruthSummary.load(tmp_path)
    assert loaded.valid == len(valid)
    assert loaded.malformed == dict(Counter(str(r.malformed) for r in records if r.malformed))
    assert loaded.delivery_failures == {"_MSG_TIMED_OUT": 1}
    assert set(loaded.rollups) == set(expected_cells)
    for key, amounts in expected_cells.items():
        assert loaded.rollups[key].events == len(amounts)
        assert sums_match(sum(amounts), loaded.rollups[key].value_sum)
    ids = (tmp_path / IDS_FILE).read_bytes()
    assert ids == b"".join(r.event_id or b"" for r in valid)


def test_batches_accumulate_and_ids_are_flushed_in_chunks(tmp_path: Path) -> None:
    truth = GroundTruth(tmp_path)
    batch = _batch(35_000)
    for _ in range(2):  # more than one 1 MiB flush of 16-byte ids
        truth.record_batch(batch, np.ones(len(batch), dtype=np.bool_))
    truth.close()
    assert (tmp_path / IDS_FILE).stat().st_size == 70_000 * 16
    loaded = GroundTruthSummary.load(tmp_path)
    assert sum(cell.events for cell in loaded.rollups.values()) == 70_000


def test_sums_match_tolerates_summation_order_only() -> None:
    values = [0.1] * 1000
    assert sums_match(sum(values), sum(reversed(values)))
    assert not sums_match(100.0, 100.01)
