"""How many executors the streaming job wants, from its lag: the pure decision of the
lag-driven scaler (docs/operations.md, "Scaling the streaming job on lag").

Kafka consumer lag tools and KEDA see no lag for a Structured Streaming job (its offsets
live in the checkpoint), so the driver decides from its own lag, and asks the scheduler
backend for the executors this returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Scale down only after the lag has stayed under one trigger's worth this long, and never
# twice within the cool-down: adding executors is cheap, flapping is not.
CALM_BEFORE_SCALING_DOWN_S = 600.0
COOL_DOWN_S = 120.0
# What remains after a step down must still carry the input with this much to spare.
HEADROOM = 1.25


@dataclass(frozen=True)
class LagReading:
    lag_records: int
    input_per_s: float
    # Records a second one executor sustains, measured from recent batches; 0 if unknown.
    per_executor_per_s: float
    executors: int
    # How long the lag has stayed below one trigger interval's worth of input.
    calm_for_s: float
    since_last_change_s: float


@dataclass(frozen=True)
class ScalingBounds:
    min_executors: int
    max_executors: int
    partitions: int
    cores_per_executor: int
    freshness_budget_s: float

    @property
    def ceiling(self) -> int:
        """Beyond one task slot per partition, an executor has nothing to read."""
        by_partitions = max(1, self.partitions // self.cores_per_executor)
        return max(self.min_executors, min(self.max_executors, by_partitions))


@dataclass(frozen=True)
class Decision:
    executors: int
    reason: str


def executors_wanted(reading: LagReading, bounds: ScalingBounds) -> Decision:
    current = reading.executors
    if reading.per_executor_per_s <= 0:
        return Decision(current, "hold: no measured rate per executor yet")
    if current < bounds.min_executors:
        return Decision(bounds.min_executors, "up: below the minimum")
    # Keep up with the input and drain the backlog within the freshness budget.
    needed_per_s = reading.input_per_s + reading.lag_records / bounds.freshness_budget_s
    wanted = min(bounds.ceiling, math.ceil(needed_per_s / reading.per_executor_per_s))
    if wanted > current:
        return Decision(
            wanted,
            f"up: {reading.lag_records} records behind drain within "
            f"{bounds.freshness_budget_s:g} s at {wanted} executors",
        )
    return _down_or_hold(reading, bounds)


def _down_or_hold(reading: LagReading, bounds: ScalingBounds) -> Decision:
    current = reading.executors
    reasons_to_hold = (
        (current <= bounds.min_executors, "at the minimum"),
        (reading.calm_for_s < CALM_BEFORE_SCALING_DOWN_S, "the lag has not been calm long enough"),
        (reading.since_last_change_s < COOL_DOWN_S, "cooling down after the last change"),
        (
            (current - 1) * reading.per_executor_per_s < HEADROOM * reading.input_per_s,
            "one executor fewer could not carry the input",
        ),
    )
    for holds, reason in reasons_to_hold:
        if holds:
            return Decision(current, f"hold: {reason}")
    return Decision(current - 1, "down: calm, and one fewer carries the input")
