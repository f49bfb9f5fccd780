"""The driver's lag scaler (workloads/streaming/lag_scaler.py): readings from offsets and
batches, and what it asks the executors for. Executors and time are stand-ins; the
Spark calls themselves run against a real standalone cluster in
tests/integration/test_executor_scaling.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from workloads.streaming.lag_scaler import LagScaler, total_lag
from workloads.streaming.metrics import BatchRecord
from workloads.streaming.scaling import CALM_BEFORE_SCALING_DOWN_S, ScalingBounds

BOUNDS = ScalingBounds(
    min_executors=2, max_executors=6, partitions=12, cores_per_executor=2, freshness_budget_s=2.0
)


@dataclass
class FakeExecutors:
    running: list[str] = field(default_factory=lambda: ["1", "2"])
    requested: list[int] = field(default_factory=list)
    killed: list[list[str]] = field(default_factory=list)

    def ids(self) -> list[str]:
        return list(self.running)

    def request_total(self, count: int) -> bool:
        self.requested.append(count)
        return True

    def kill(self, executor_ids: list[str]) -> bool:
        self.killed.append(executor_ids)
        self.running = [i for i in self.running if i not in executor_ids]
        return True


@dataclass
class World:
    """Offsets that grow at `input_per_s`, a job `behind` them, and a clock."""

    now: float = 1_000.0
    end: int = 0
    behind: int = 0
    input_per_s: int = 10_000
    # Rows a second the job processes while busy (its batches), for all executors.
    processed_per_s: int = 40_000

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.end += int(self.input_per_s * seconds)

    def log_end(self) -> dict[int, int]:
        return {0: self.end // 2, 1: self.end - self.end // 2}

    def processed(self) -> dict[int, int]:
        done = max(0, self.end - self.behind)
        return {0: done // 2, 1: done - done // 2}

    def batches(self, _window_s: float) -> list[BatchRecord]:
        return [BatchRecord("ingest", 1, self.now, self.processed_per_s, 0, {"sink": 1.0})]


def _scaler(world: World, executors: FakeExecutors) -> LagScaler:
    return LagScaler(
        executors,
        BOUNDS,
        processed=world.processed,
        log_end=world.log_end,
        recent_batches=world.batches,
        trigger_interval_s=1.0,
        interval_s=15.0,
        clock=lambda: world.now,
    )


def test_the_lag_is_summed_over_partitions_and_unknown_until_both_sides_are() -> None:
    assert total_lag({0: 5, 1: 10}, {0: 8, 1: 10, 2: 4}) == 3 + 0 + 4
    assert total_lag({}, {0: 8}) is None
    assert total_lag({0: 1}, {}) is None


def test_the_first_reading_only_measures_the_input_rate() -> None:
    world, executors = World(), FakeExecutors()
    scaler = _scaler(world, executors)
    assert scaler.maybe_tick() is None
    world.advance(1.0)
    assert scaler.maybe_tick() is None, "within interval_s of the last tick"
    world.advance(15.0)
    decision = scaler.maybe_tick()
    assert decision is not None and decision.executors == 2
    assert executors.requested == [] and executors.killed == []


def test_a_backlog_that_would_outlast_the_budget_asks_for_more_executors() -> None:
    world, executors = World(), FakeExecutors()
    scaler = _scaler(world, executors)
    scaler.maybe_tick()
    world.advance(15.0)
    world.behind = 100_000
    decision = scaler.maybe_tick()
    # 10k/s in, 100k behind to drain in 2 s: 60k/s at 20k/s per executor is 3 executors.
    assert decision is not None and decision.executors == 3
    assert executors.requested == [3]


def test_calm_for_long_enough_it_gives_one_executor_back() -> None:
    world, executors = World(input_per_s=1_000), FakeExecutors(running=["1", "2", "10"])
    scaler = _scaler(world, executors)
    scaler.maybe_tick()
    decisions = []
    for _ in range(int(CALM_BEFORE_SCALING_DOWN_S // 15) + 2):
        world.advance(15.0)
        decisions.append(scaler.maybe_tick())
    # Held while the calm was short, then one step down: the last registered executor.
    assert decisions[0] is not None and decisions[0].reason.startswith("hold")
    assert executors.killed == [["10"]]
    assert executors.running == ["1", "2"]


def test_without_a_measured_rate_it_holds() -> None:
    world = World(processed_per_s=0)
    executors = FakeExecutors()
    scaler = _scaler(world, executors)
    scaler.maybe_tick()
    world.advance(15.0)
    world.behind = 1_000_000
    decision = scaler.maybe_tick()
    assert decision is not None and decision.reason.startswith("hold: no measured rate")
    assert executors.requested == []
