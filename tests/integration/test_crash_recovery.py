"""Crashes during a run, recovered the way `rtap up` recovers them: the supervisor
restarts each component that died, and every query resumes from its checkpoint.

The platform process dies twice (at an injected crash point, then by kill -9), the
sessions process and the Kafka broker once each (kill -9)."""

from __future__ import annotations

import threading
import time

import pytest

from rtap.local import kafka_broker
from rtap.local.control_client import ControlClient
from rtap.local.runner import PipelineRun
from rtap.local.stack import COMPONENTS, PLATFORM, SESSIONS, LocalStack
from rtap.local.supervisor import CRASH_LOOP, RestartPolicy, Supervisor
from workloads.producer.producer import ProducerStats
from workloads.streaming.faults import CRASH_VARIABLE

pytestmark = pytest.mark.integration

# The producer runs at 2,000 events/s until every component has come back and more is
# stored, so all crashes land while events keep arriving, however long the restarts
# (the platform's ~30 s: Spark start and warm-up) take on a loaded machine.
RATE = 2_000
# A floor, so the run cannot pass on a trivial amount of traffic (50 s of it).
MIN_EVENTS = 100_000


def _wait_for_progress(
    control: ControlClient, above: int, figure: str = "rows_stored", timeout_s: float = 120
) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stored = int(control.stats()[figure])
        if stored > above:
            return stored
        time.sleep(0.2)
    raise TimeoutError(f"{figure} did not grow beyond {above} within {timeout_s}s")


def _wait_for_restarts(supervisor: Supervisor, name: str, count: int) -> None:
    deadline = time.monotonic() + 300
    while supervisor.restarts().get(name, 0) < count:
        state = supervisor.snapshot()[name]
        assert state.state != CRASH_LOOP, state.last_failure
        assert time.monotonic() < deadline, f"{name} was not restarted: {state}"
        time.sleep(0.2)


def test_no_loss_and_no_duplicates_across_crashes(
    stack: LocalStack, control: ControlClient
) -> None:
    producer = stack.settings.producer.model_copy(
        update={"rate_per_second": RATE, "malformed_share": 0.01, "seed": 777}
    )
    # Crash 1 is armed before the supervisor watches, so it never sees a planned restart.
    # The platform then kills itself right after a batch's raw rows reached ClickHouse,
    # before its dead letters and Spark's commit: the replay must add nothing.
    stack.start_platform(lambda _: None, extra_env={CRASH_VARIABLE: "ingest.after_insert:2"})
    supervisor = Supervisor(stack, reversed(COMPONENTS), RestartPolicy(), interval_s=0.5)
    run = PipelineRun(stack, control, producer, supervisor)
    run.prepare()
    results: list[ProducerStats] = []
    stop = threading.Event()
    worker = threading.Thread(target=lambda: results.append(run.produce(None, stop)))
    supervisor.start()
    try:
        worker.start()
        _wait_for_restarts(supervisor, PLATFORM, 1)  # restarted without the crash point

        # Crash 2: kill -9 from outside while batches are flowing.
        _wait_for_progress(control, above=0)
        time.sleep(1.5)
        stack.kill_platform()
        _wait_for_restarts(supervisor, PLATFORM, 2)

        # Crash 3: kill -9 the sessions process once it hands sessions over. Files it
        # wrote before the kill are stored within a second; the restart takes far
        # longer, so sessions stored after it come from the new process.
        _wait_for_progress(control, above=0, figure="sessions_stored")
        stack.kill(SESSIONS)
        _wait_for_restarts(supervisor, SESSIONS, 1)
        stored = int(control.stats()["sessions_stored"])
        _wait_for_progress(control, above=stored, figure="sessions_stored")

        # Crash 4: kill -9 the broker. The producer retries idempotently, and the
        # queries reconnect to the restarted broker, which recovers its log.
        stored = int(control.stats()["rows_stored"])
        stack.kill(kafka_broker.NAME)
        _wait_for_restarts(supervisor, kafka_broker.NAME, 1)
        _wait_for_progress(control, above=stored + RATE)

        # Events keep arriving after the restarts, then the producer stops.
        time.sleep(1.5)
        stop.set()
        worker.join(timeout=300)
        assert results and results[0].failed == 0
        run.drain(timeout_s=600)
        summary = run.verify()
    finally:
        stop.set()
        supervisor.stop(timeout_s=300)

    assert summary.restarts == {PLATFORM: 2, SESSIONS: 1, kafka_broker.NAME: 1}
    assert summary.produced == results[0].acked >= MIN_EVENTS
    assert summary.stored_raw == summary.valid
    assert summary.duplicates == 0
    assert summary.missing == 0
    assert summary.rollup_mismatches == 0
    assert summary.dead_lettered == summary.malformed
    assert summary.session_duplicates == 0
    assert summary.passed, summary.problems
