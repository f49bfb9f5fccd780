from __future__ import annotations

from workloads.producer.ground_truth import RollupCell
from workloads.storage.verification import compare_rollups


def test_rollups_match_after_subtracting_the_baseline() -> None:
    truth = {("click", 10): RollupCell(5, 2.5)}
    actual = {("click", 10): RollupCell(7, 3.5)}
    baseline = {("click", 10): RollupCell(2, 1.0)}
    cells, mismatches = compare_rollups(truth, actual, baseline)
    assert (cells, mismatches) == (1, [])


def test_a_duplicate_insert_shows_as_a_mismatch() -> None:
    truth = {("click", 10): RollupCell(5, 2.5)}
    actual = {("click", 10): RollupCell(10, 5.0)}
    _, mismatches = compare_rollups(truth, actual, {})
    assert mismatches == [
        {
            "event_type": "click",
            "minute": 10,
            "expected_events": 5,
            "stored_events": 10,
            "expected_value_sum": 2.5,
            "stored_value_sum": 5.0,
        }
    ]


def test_cells_missing_on_either_side_are_mismatches() -> None:
    truth = {("click", 10): RollupCell(1, 0.0)}
    actual = {("search", 11): RollupCell(1, 0.0)}
    cells, mismatches = compare_rollups(truth, actual, {})
    assert cells == 2
    assert {m["event_type"] for m in mismatches} == {"click", "search"}
