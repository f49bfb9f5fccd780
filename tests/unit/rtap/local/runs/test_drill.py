"""The crash drill: when kills land, when a component counts as back, what fails it."""

from __future__ import annotations

import itertools
import time

import pytest

from rtap.local.processes.supervisor import RestartPolicy, Supervisor
from rtap.local.runs.drill import CrashDrill, Kill, drill_problems, kill_times


def test_kills_are_spread_evenly_and_clear_of_both_ends() -> None:
    assert kill_times(100.0, 4) == [20.0, 40.0, 60.0, 80.0]
    assert kill_times(60.0, 1) == [30.0]


def test_a_drill_where_everything_came_back_has_no_problems() -> None:
    planned = ["platform", "kafka", "platform"]
    kills = [Kill("platform", 24.0, 15.2), Kill("kafka", 48.0, 6.1), Kill("platform", 72.0, 14.0)]
    assert drill_problems(planned, kills, {"platform": 2, "kafka": 1}) == []


@pytest.mark.parametrize(
    ("kills", "restarts", "expected"),
    [
        (
            [Kill("sessions", 24.0, None, "crash loop: the process exited")],
            {"sessions": 5},
            ["sessions did not come back: crash loop: the process exited"],
        ),
        (
            [Kill("sessions", 24.0, 30.0)],
            {},
            ["sessions was killed 1x but restarted 0x during the run"],
        ),
        (
            [],
            {},
            ["only 0 of the 1 planned kills happened"],
        ),
    ],
)
def test_each_way_a_drill_fails_is_named(
    kills: list[Kill], restarts: dict[str, int], expected: list[str]
) -> None:
    assert drill_problems(["sessions"], kills, restarts) == expected


class FakeProcesses:
    """Components the drill kills and the supervisor restarts (no processes)."""

    def __init__(self, *names: str) -> None:
        self.up = dict.fromkeys(names, True)
        self.killed: list[str] = []
        self.broken: set[str] = set()

    def alive(self, name: str) -> bool:
        return self.up[name]

    def restart(self, name: str) -> None:
        if name in self.broken:
            raise RuntimeError(f"{name} failed to start")
        self.up[name] = True

    def kill(self, name: str) -> None:
        self.killed.append(name)
        self.up[name] = False


def _drill(processes: FakeProcesses, kills: list[str]) -> tuple[CrashDrill, Supervisor]:
    policy = RestartPolicy(first_backoff_s=0.0, max_backoff_s=0.0, max_restarts=2)
    supervisor = Supervisor(processes, list(processes.up), policy, interval_s=0.01)
    counter = itertools.count()
    drill = CrashDrill(
        processes, supervisor, kills, duration_s=0.2, progress=lambda _: next(counter)
    )
    supervisor.start()
    drill.start()
    deadline = time.monotonic() + 10.0
    while drill.running and time.monotonic() < deadline:
        time.sleep(0.01)
    drill.stop()
    supervisor.stop()
    return drill, supervisor


def test_each_kill_lands_and_its_component_comes_back() -> None:
    processes = FakeProcesses("platform", "kafka")
    drill, supervisor = _drill(processes, ["platform", "kafka", "platform"])
    assert processes.killed == ["platform", "kafka", "platform"]
    assert all(kill.recovered_after_s is not None for kill in drill.kills)
    assert drill_problems(processes.killed, drill.kills, supervisor.restarts()) == []


def test_a_component_that_does_not_come_back_ends_the_drill() -> None:
    processes = FakeProcesses("platform", "redis")
    processes.broken.add("redis")
    drill, supervisor = _drill(processes, ["redis", "platform"])
    assert processes.killed == ["redis"]  # no kill lands beside a crash loop
    assert drill.kills[0].failure.startswith("crash loop: restart failed: redis failed")
    assert drill_problems(["redis", "platform"], drill.kills, supervisor.restarts()) == [
        "only 1 of the 2 planned kills happened",
        "redis did not come back: crash loop: restart failed: redis failed to start",
        "redis was killed 1x but restarted 0x during the run",
    ]
