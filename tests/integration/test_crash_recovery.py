"""kill -9 the platform process mid-run, twice, and the sessions process once, and
restart each from its checkpoint."""

from __future__ import annotations

import threading
import time

import pytest

from rtap.local.control_client import ControlClient
from rtap.local.runner import PipelineRun
from rtap.local.stack import LocalStack
from workloads.producer.producer import ProducerStats
from workloads.streaming.faults import CRASH_VARIABLE

pytestmark = pytest.mark.integration

# The producer runs at 2,000 events/s until the platform has come back from the second
# crash and stored more, so both crashes land while events keep arriving, however long
# the restarts (each ~30 s: Spark start and warm-up) take on a loaded machine.
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


def test_no_loss_and_no_duplicates_across_two_crashes(
    stack: LocalStack, control: ControlClient
) -> None:
    producer = stack.settings.producer.model_copy(
        update={"rate_per_second": RATE, "malformed_share": 0.01, "seed": 777}
    )
    run = PipelineRun(stack, control, producer)
    run.prepare()
    results: list[ProducerStats] = []
    stop = threading.Event()
    worker = threading.Thread(target=lambda: results.append(run.produce(None, stop)))
    worker.start()

    # Crash 1: the platform kills itself right after a batch's raw rows reached
    # ClickHouse, before its dead letters and Spark's commit: the replay must add nothing.
    stack.start_platform(lambda _: None, extra_env={CRASH_VARIABLE: "ingest.after_insert:2"})
    deadline = time.monotonic() + 120
    while stack.platform_running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stack.platform_running(), "the crash point was never reached"
    stack.start_platform(lambda _: None)

    # Crash 2: kill -9 from outside while batches are flowing.
    _wait_for_progress(control, above=0)
    time.sleep(1.5)
    stack.kill_platform()
    stack.start_platform(lambda _: None)

    # Crash 3: kill -9 the sessions process once it hands sessions over, and restart it.
    # Files it wrote before the kill are stored within a second; the restart takes far
    # longer, so sessions stored after it come from the new process.
    _wait_for_progress(control, above=0, figure="sessions_stored")
    stack.kill_sessions()
    stack.wait_for_sessions(stack.start_sessions())
    stored = int(control.stats()["sessions_stored"])
    _wait_for_progress(control, above=stored, figure="sessions_stored")

    # Events keep arriving after the restarts, then the producer stops.
    _wait_for_progress(control, above=0)
    time.sleep(1.5)
    stop.set()
    worker.join(timeout=300)
    assert results and results[0].failed == 0
    run.drain(timeout_s=600)
    summary = run.verify()

    assert summary.produced == results[0].acked >= MIN_EVENTS
    assert summary.stored_raw == summary.valid
    assert summary.duplicates == 0
    assert summary.missing == 0
    assert summary.rollup_mismatches == 0
    assert summary.dead_lettered == summary.malformed
    assert summary.session_duplicates == 0
    assert summary.passed, summary.problems
