from __future__ import annotations

import uuid
from pathlib import Path

from workloads.events import Reason
from workloads.producer.ground_truth import IDS_FILE, GroundTruth, GroundTruthSummary, sums_match


def test_records_survive_close_and_load(tmp_path: Path) -> None:
    truth = GroundTruth(tmp_path)
    ids = [uuid.uuid4().bytes for _ in range(5)]
    for index, event_id in enumerate(ids):
        truth.record_valid(event_id, "click", 100 + index % 2, 1.5)
    truth.record_malformed(Reason.NOT_JSON)
    truth.record_malformed(Reason.NOT_JSON)
    truth.record_failure("_MSG_TIMED_OUT")
    assert truth.produced == 7
    truth.close()

    loaded = GroundTruthSummary.load(tmp_path)
    assert loaded.valid == 5
    assert loaded.malformed == {"not_json": 2}
    assert loaded.delivery_failures == {"_MSG_TIMED_OUT": 1}
    assert loaded.rollups[("click", 100)].events == 3
    assert loaded.rollups[("click", 101)].value_sum == 3.0
    assert (tmp_path / IDS_FILE).read_bytes() == b"".join(ids)


def test_ids_are_flushed_in_chunks(tmp_path: Path) -> None:
    truth = GroundTruth(tmp_path)
    for _ in range(70_000):  # more than one 1 MiB flush of 16-byte ids
        truth.record_valid(uuid.uuid4().bytes, "click", 1, 0.0)
    truth.close()
    assert (tmp_path / IDS_FILE).stat().st_size == 70_000 * 16


def test_sums_match_tolerates_summation_order_only() -> None:
    values = [0.1] * 1000
    assert sums_match(sum(values), sum(reversed(values)))
    assert not sums_match(100.0, 100.01)
