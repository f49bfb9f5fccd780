"""Crashes during a run, recovered the way `rtap up` recovers them: the supervisor
restarts each component that died, and every query resumes from its checkpoint.

The platform process dies twice (at an injected crash point, then by kill -9), the
sessionizer process and the Kafka broker once each (kill -9). The kills are the crash
drill's (`rtap drill`), and the run is `rtap up --duration`'s, so this is what a user's
drill does, on the integration stack."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from rich.console import Console

from rtap.local.platform.control_client import ControlClient
from rtap.local.processes import kafka_broker
from rtap.local.processes.local_processes import COMPONENTS, PLATFORM, SESSIONIZER, LocalProcesses
from rtap.local.processes.supervisor import RestartPolicy, Supervisor
from rtap.local.runs.drill import CrashDrill, drill_problems
from rtap.local.runs.run import RunningPlatform, RunRequest, run_pipeline
from workloads.streaming.faults import CRASH_VARIABLE

pytestmark = pytest.mark.integration

# 2,000 events/s for at least 60 s, and on until every killed component is back and
# storing again, however long the restarts (the platform's ~20 s: Spark start and
# warm-up) take on a loaded machine.
RATE = 2_000
DURATION_S = 60.0
# A floor, so the run cannot pass on a trivial amount of traffic (50 s of it).
MIN_EVENTS = 100_000
KILLS = [PLATFORM, SESSIONIZER, kafka_broker.NAME]


def _progress(control: ControlClient) -> Callable[[str], int]:
    """Sessions must flow again after the sessionizer process is back; rows after the rest."""

    def figure(component: str) -> int:
        stats = control.stats()
        return int(stats["sessions_stored" if component == SESSIONIZER else "rows_stored"])

    return figure


def test_no_loss_and_no_duplicates_across_crashes(
    processes: LocalProcesses, control: ControlClient
) -> None:
    producer = processes.settings.producer.model_copy(
        update={"rate_per_second": RATE, "malformed_share": 0.01, "seed": 777}
    )
    # Crash 1 is armed before the supervisor watches, so it never sees a planned restart.
    # The platform then kills itself right after a batch's raw rows reached ClickHouse,
    # before its dead letters and Spark's commit: the replay must add nothing.
    processes.start_platform(lambda _: None, extra_env={CRASH_VARIABLE: "ingest.after_insert:2"})
    supervisor = Supervisor(processes, reversed(COMPONENTS), RestartPolicy(), interval_s=0.5)
    # Crashes 2-4: kill -9 the platform, the sessionizer process and the broker in turn,
    # each once the one before is back, as `rtap drill` does.
    drill = CrashDrill(
        processes, supervisor, KILLS, duration_s=DURATION_S, progress=_progress(control)
    )
    request = RunRequest(DURATION_S, producer, alongside=drill)
    supervisor.start()
    try:
        run = run_pipeline(
            processes, RunningPlatform(control, supervisor), Console(), request, threading.Event()
        )
    finally:
        drill.stop()
        supervisor.stop(timeout_s=300)

    assert run is not None and run.summary is not None
    summary = run.summary
    assert drill_problems(KILLS, drill.kills, summary.restarts) == []
    # The injected crash and the drill's kill: two restarts of the platform.
    assert summary.restarts == {PLATFORM: 2, SESSIONIZER: 1, kafka_broker.NAME: 1}
    assert summary.produced >= MIN_EVENTS
    assert summary.stored_raw == summary.valid
    assert summary.duplicates == 0
    assert summary.missing == 0
    assert summary.unexpected == 0
    assert summary.rollup_mismatches == 0
    assert summary.dead_lettered == summary.malformed
    assert summary.session_duplicates == 0
    assert summary.delivery_failures == 0
    assert summary.passed, summary.problems
