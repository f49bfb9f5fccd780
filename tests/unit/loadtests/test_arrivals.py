"""The open model: requests are due on a fixed schedule and their latency counts from
when they were due, so a stalled server shows in the percentiles (no coordinated
omission), where a closed loop's own timings hide it."""

from __future__ import annotations

import pytest

from loadtests.sla_gate import percentile
from loadtests.suites.arrivals import ArrivalSchedule, latency_ms, paced
from loadtests.suites.plan import steady_window, viewers_at


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_requests_are_due_at_start_plus_index_over_rate() -> None:
    schedule = ArrivalSchedule(rate=4, start=10.0)
    assert [schedule.intended(i) for i in range(3)] == [10.0, 10.25, 10.5]
    with pytest.raises(ValueError, match="positive"):
        ArrivalSchedule(rate=0, start=0)


def test_a_caller_that_falls_behind_keeps_the_schedule() -> None:
    clock = FakeClock()
    due = paced(ArrivalSchedule(rate=10, start=0.0), clock, clock.sleep, until=1.0)
    first = next(due)
    assert first == (0, 0.0)
    clock.now = 0.55  # the caller was blocked for half a second
    overdue = [next(due) for _ in range(5)]
    # The five requests due meanwhile come at once, each with its own intended start.
    assert [index for index, _ in overdue] == [1, 2, 3, 4, 5]
    assert [round(t, 2) for _, t in overdue] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert clock.now == 0.55  # none of them waited
    rest = list(due)
    assert [index for index, _ in rest] == [6, 7, 8, 9]
    assert clock.now == pytest.approx(0.9)


def simulate(
    stall_at: int, stall_s: float, rate: float, count: int
) -> tuple[list[float], list[float]]:
    """One server answering in 1 ms, except one request that takes `stall_s`. Returns
    the latencies an open model records (from each intended start) and the ones a
    closed loop at the same rate records (from each send)."""
    schedule = ArrivalSchedule(rate, 0.0)
    free_at, open_latencies = 0.0, []
    for index in range(count):
        intended = schedule.intended(index)
        service = stall_s if index == stall_at else 0.001
        free_at = max(free_at, intended) + service
        open_latencies.append(latency_ms(intended, free_at))
    closed_latencies = [stall_s * 1000 if i == stall_at else 1.0 for i in range(count)]
    return open_latencies, closed_latencies


def histogram(values: list[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values:
        counts[round(value)] = counts.get(round(value), 0) + 1
    return counts


def test_a_stall_shows_in_the_open_models_p99_and_not_in_a_closed_loops() -> None:
    # At 100 requests/s a 2-second stall delays the 200 requests due during it.
    open_ms, closed_ms = simulate(stall_at=100, stall_s=2.0, rate=100, count=5000)
    assert percentile(histogram(closed_ms), 0.99) == 1  # the stall is one sample in 5000
    open_p99 = percentile(histogram(open_ms), 0.99)
    assert open_p99 is not None and open_p99 > 1000


def test_latency_is_never_negative() -> None:
    assert latency_ms(5.0, 5.25) == 250.0
    assert latency_ms(5.0, 4.0) == 0.0


def test_shapes_plan_their_viewers() -> None:
    assert [viewers_at("ramp", t, 100, 50) for t in (0, 25, 50, 99)] == [1, 25, 50, 50]
    assert [viewers_at("spike", t, 100, 50) for t in (10, 45, 70)] == [10, 50, 10]
    assert viewers_at("soak", 99, 100, 50) == 50
    assert viewers_at("open", 10, 100, 50) == 0
    assert viewers_at("soak", 100, 100, 50) is None
    with pytest.raises(ValueError, match="no load shape"):
        viewers_at("sawtooth", 1, 100, 5)


def test_the_steady_part_skips_the_ramp_and_the_drain() -> None:
    assert steady_window("ramp", 1000.0, 100) == (1050.0, 1098.0)
    assert steady_window("open", 1000.0, 100) == (1010.0, 1098.0)
    assert steady_window("open", 1000.0, 20) == (1005.0, 1018.0)
