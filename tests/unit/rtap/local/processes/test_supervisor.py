from __future__ import annotations

import threading
import time

from rtap.local.processes.supervisor import (
    CRASH_LOOP,
    RESTARTING,
    RUNNING,
    WAITING,
    RestartPolicy,
    Supervisor,
    describe,
)

NO_WAIT = RestartPolicy(first_backoff_s=0.0, max_backoff_s=0.0, max_restarts=3, window_s=600.0)


class Components:
    """Components whose life the test controls (the supervisor's view of a stack)."""

    def __init__(self, *names: str) -> None:
        self.up = dict.fromkeys(names, True)
        self.restarted: list[str] = []
        self.failing_starts = 0
        self.dies_on_start: set[str] = set()

    def alive(self, name: str) -> bool:
        return self.up[name]

    def restart(self, name: str) -> None:
        self.restarted.append(name)
        if self.failing_starts:
            self.failing_starts -= 1
            raise RuntimeError("platform failed to start: port in use\n  log: platform.log")
        self.up[name] = name not in self.dies_on_start


def test_a_component_that_died_is_restarted_and_counted() -> None:
    components = Components("kafka", "platform")
    supervisor = Supervisor(components, ["kafka", "platform"], NO_WAIT)
    supervisor.check_once()
    assert components.restarted == []
    components.up["platform"] = False
    supervisor.check_once()
    assert components.restarted == ["platform"]
    assert supervisor.restarts() == {"platform": 1}
    state = supervisor.snapshot()["platform"]
    assert (state.state, state.last_failure) == (RUNNING, "the process exited")


def test_back_off_doubles_up_to_its_cap() -> None:
    policy = RestartPolicy(first_backoff_s=1.0, max_backoff_s=10.0)
    assert [policy.backoff_s(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_failed_start_counts_as_a_failure_and_is_tried_again() -> None:
    components = Components("platform")
    components.up["platform"] = False
    components.failing_starts = 2
    supervisor = Supervisor(components, ["platform"], NO_WAIT)
    supervisor.check_once()
    assert components.restarted == ["platform"] * 3
    state = supervisor.snapshot()["platform"]
    assert (state.state, state.restarts, len(state.failures)) == (RUNNING, 1, 3)
    assert state.last_failure == "restart failed: platform failed to start: port in use"


def test_a_component_that_keeps_dying_is_left_down_as_a_crash_loop() -> None:
    components = Components("sessions", "kafka")
    components.dies_on_start.add("sessions")
    components.up["sessions"] = False
    supervisor = Supervisor(components, ["sessions", "kafka"], NO_WAIT)
    for _ in range(6):
        supervisor.check_once()
    assert components.restarted == ["sessions"] * 3  # max_restarts
    assert supervisor.snapshot()["sessions"].state == CRASH_LOOP
    components.up["kafka"] = False  # the others are still looked after
    supervisor.check_once()
    assert components.restarted[-1] == "kafka"


def test_failures_older_than_the_window_are_forgotten() -> None:
    now = [0.0]
    policy = RestartPolicy(first_backoff_s=0.0, max_backoff_s=0.0, max_restarts=1, window_s=60.0)
    components = Components("redis")
    supervisor = Supervisor(components, ["redis"], policy, clock=lambda: now[0])
    for minute in range(5):  # one crash a minute never makes a loop of a 60 s window
        now[0] = minute * 61.0
        components.up["redis"] = False
        supervisor.check_once()
    assert supervisor.restarts() == {"redis": 5}
    now[0] += 1.0
    components.up["redis"] = False
    supervisor.check_once()  # the second failure within 60 s
    assert supervisor.snapshot()["redis"].state == CRASH_LOOP


def test_stopping_during_the_back_off_abandons_the_restart() -> None:
    components = Components("platform")
    supervisor = Supervisor(
        components, ["platform"], RestartPolicy(first_backoff_s=30.0), interval_s=0.01
    )
    supervisor.start()
    components.up["platform"] = False
    deadline = time.monotonic() + 5.0
    while supervisor.snapshot()["platform"].state == RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    assert supervisor.snapshot()["platform"].state == WAITING  # in its 30 s back-off
    started = time.monotonic()
    assert supervisor.stop(timeout_s=5.0)
    assert time.monotonic() - started < 1.0
    assert components.restarted == []


def test_the_watching_thread_restarts_within_its_interval() -> None:
    components = Components("kafka")
    restarted = threading.Event()
    original = components.restart

    def restart(name: str) -> None:
        original(name)
        restarted.set()

    components.restart = restart  # type: ignore[method-assign]
    supervisor = Supervisor(components, ["kafka"], NO_WAIT, interval_s=0.05)
    supervisor.start()
    try:
        components.up["kafka"] = False
        assert restarted.wait(2.0)
    finally:
        assert supervisor.stop()
    assert supervisor.restarts() == {"kafka": 1}


def test_a_slow_restart_does_not_delay_another_component() -> None:
    components = Components("platform", "sessions")
    platform_may_start, sessions_restarted = threading.Event(), threading.Event()
    original = components.restart

    def restart(name: str) -> None:
        if name == "platform":
            platform_may_start.wait(5.0)  # a Spark start that takes its time
        original(name)
        if name == "sessions":
            sessions_restarted.set()

    components.restart = restart  # type: ignore[method-assign]
    supervisor = Supervisor(components, ["platform", "sessions"], NO_WAIT, interval_s=0.05)
    supervisor.start()
    try:
        components.up["platform"] = False
        time.sleep(0.2)
        components.up["sessions"] = False
        assert sessions_restarted.wait(2.0)
        assert supervisor.snapshot()["platform"].state == RESTARTING
    finally:
        platform_may_start.set()
        assert supervisor.stop()
    assert supervisor.restarts() == {"platform": 1, "sessions": 1}


def test_the_states_are_published_for_other_processes() -> None:
    components = Components("redis")
    published: list[dict[str, dict[str, object]]] = []
    supervisor = Supervisor(
        components,
        ["redis"],
        NO_WAIT,
        interval_s=0.02,
        publish=lambda states: published.append(describe(states)),
    )
    supervisor.start()
    try:
        components.up["redis"] = False
        deadline = time.monotonic() + 2.0
        while not published or published[-1]["redis"] != {
            "state": RUNNING,
            "restarts": 1,
            "last_failure": "the process exited",
        }:
            assert time.monotonic() < deadline, published[-3:]
            time.sleep(0.02)
    finally:
        assert supervisor.stop()


def test_max_restarts_zero_never_restarts() -> None:
    components = Components("kafka")
    policy = RestartPolicy(first_backoff_s=0.0, max_restarts=0)
    supervisor = Supervisor(components, ["kafka"], policy)
    components.up["kafka"] = False
    supervisor.check_once()
    assert components.restarted == []
    assert supervisor.snapshot()["kafka"].state == CRASH_LOOP
