"""The open model's clock: when each request of a constant-arrival-rate run is due.

Locust's users are a closed model: a user sends its next request only after the last
one answered, so a server that stalls is offered less load exactly while it stalls, and
the stall barely shows in the latencies (coordinated omission). In the open model the
k-th request is due at `start + k / rate` whatever happened before, and its latency is
counted from that intended start: time spent waiting behind a stalled server counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ArrivalSchedule:
    rate: float
    start: float

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"an arrival rate must be positive, not {self.rate}")

    def intended(self, index: int) -> float:
        """When request `index` (from 0) is due."""
        return self.start + index / self.rate


def paced(
    schedule: ArrivalSchedule,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    until: float,
) -> Iterator[tuple[int, float]]:
    """(index, intended start) of each request due before `until`, yielded once it is due.

    A caller that falls behind (it was blocked, or the machine was) gets the overdue
    requests at once, each with its own intended start: the schedule never moves, so
    late requests are sent late and measured as late.
    """
    index = 0
    while (intended := schedule.intended(index)) < until:
        wait = intended - clock()
        if wait > 0:
            sleep(wait)
        yield index, intended
        index += 1


def latency_ms(intended_start: float, finished: float) -> float:
    """A request's latency in the open model: from when it was due, not when it was sent."""
    return max(0.0, finished - intended_start) * 1000.0
