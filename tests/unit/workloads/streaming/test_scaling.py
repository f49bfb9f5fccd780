"""The lag-driven scaler's decision."""

from __future__ import annotations

from dataclasses import replace

from workloads.streaming.scaling import (
    CALM_BEFORE_SCALING_DOWN_S,
    COOL_DOWN_S,
    LagReading,
    ScalingBounds,
    executors_wanted,
)

BOUNDS = ScalingBounds(
    min_executors=2, max_executors=10, partitions=12, cores_per_executor=2, freshness_budget_s=2.0
)
STEADY = LagReading(
    lag_records=0,
    input_per_s=20_000,
    per_executor_per_s=10_000,
    executors=3,
    calm_for_s=0.0,
    since_last_change_s=0.0,
)


def test_a_backlog_scales_up_to_drain_it_within_the_freshness_budget() -> None:
    # 20k/s input plus 60k records to drain in 2 s: 50k/s, five executors.
    decision = executors_wanted(replace(STEADY, lag_records=60_000), BOUNDS)
    assert decision.executors == 5
    assert decision.reason.startswith("up")


def test_no_more_executors_than_partitions_can_keep_busy() -> None:
    decision = executors_wanted(replace(STEADY, lag_records=10_000_000), BOUNDS)
    assert decision.executors == 6  # 12 partitions, 2 cores each
    wide = replace(BOUNDS, partitions=48)
    assert executors_wanted(replace(STEADY, lag_records=10_000_000), wide).executors == 10


def test_it_holds_while_the_lag_is_not_calm_or_it_just_changed() -> None:
    assert executors_wanted(STEADY, BOUNDS).executors == 3
    calm = replace(STEADY, calm_for_s=CALM_BEFORE_SCALING_DOWN_S, input_per_s=5_000)
    assert (
        executors_wanted(replace(calm, since_last_change_s=COOL_DOWN_S - 1), BOUNDS).executors == 3
    )


def test_calm_lag_scales_down_one_step_while_the_rest_carries_the_input() -> None:
    calm = replace(
        STEADY,
        input_per_s=5_000,
        calm_for_s=CALM_BEFORE_SCALING_DOWN_S,
        since_last_change_s=COOL_DOWN_S,
    )
    decision = executors_wanted(calm, BOUNDS)
    assert (decision.executors, decision.reason[:4]) == (2, "down")
    # At the minimum it stays; and it never drops what the input needs.
    assert executors_wanted(replace(calm, executors=2), BOUNDS).executors == 2
    busy = replace(calm, input_per_s=19_000)
    assert executors_wanted(busy, BOUNDS).executors == 3


def test_without_a_measured_rate_it_holds() -> None:
    reading = replace(STEADY, per_executor_per_s=0.0, lag_records=1_000_000)
    assert executors_wanted(reading, BOUNDS).executors == 3
