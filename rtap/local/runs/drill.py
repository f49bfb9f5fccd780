"""A crash drill: kill components with `kill -9` during a producing run, let the
supervisor bring them back, and verify that nothing was lost or stored twice.

The runbook is runbooks/crash-drill.md.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import structlog
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.processes.supervisor import CRASH_LOOP, RUNNING, Supervisor
from rtap.local.runs.pipeline_run import write_summary
from rtap.local.runs.run import RunRequest, run_pipeline, running_platform, stop_on_signals

log = structlog.get_logger(__name__)


@dataclass
class Kill:
    """One kill of the drill and how long its component took to come back."""

    component: str
    at_s: float  # after the producer started
    recovered_after_s: float | None = None  # None: not back within the drill's patience
    failure: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kill_times(duration_s: float, count: int) -> list[float]:
    """Kill times spread evenly over a run, clear of its start and its end."""
    return [duration_s * (index + 1) / (count + 1) for index in range(count)]


class Killable(Protocol):
    def kill(self, name: str) -> None:
        """kill -9 the component's processes."""


class CrashDrill:
    """Kills `components` in turn, at `kill_times`, from a thread of its own.

    Each kill waits until every component runs (the one killed before it is back, and
    any other that crashed on its own): a drill of overlapping outages would show less
    about each. A component is back once the supervisor restarted it and
    `progress(component)`, a figure of the platform's stats, grew again (rows stored,
    say), so the next kill lands while events flow.
    """

    def __init__(
        self,
        processes: Killable,
        supervisor: Supervisor,
        components: Sequence[str],
        *,
        duration_s: float,
        progress: Callable[[str], int],
        recovery_timeout_s: float = 300.0,
    ) -> None:
        self._processes = processes
        self._supervisor = supervisor
        self._plan = list(zip(kill_times(duration_s, len(components)), components, strict=True))
        self._progress = progress
        self._recovery_timeout_s = recovery_timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crash-drill", daemon=True)
        self._started = 0.0
        self.kills: list[Kill] = []

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self._recovery_timeout_s)

    @property
    def running(self) -> bool:
        """Whether kills are still to come, or a component is still on its way back."""
        return self._thread.is_alive()

    def _run(self) -> None:
        for at_s, component in self._plan:
            if self._stop.wait(max(self._started + at_s - time.monotonic(), 0.0)):
                return
            if not self._all_running():
                return
            restarts_before = self._supervisor.restarts().get(component, 0)
            log.warning("drill: kill -9", component=component)
            killed = time.monotonic()
            self._processes.kill(component)
            kill = Kill(component, round(killed - self._started, 1))
            self.kills.append(kill)
            self._await_recovery(kill, killed, restarts_before)
            if kill.recovered_after_s is None:
                return  # the drill failed here; later kills would only blur it

    def _await_recovery(self, kill: Kill, killed: float, restarts_before: int) -> None:
        deadline = killed + self._recovery_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            state = self._supervisor.snapshot()[kill.component]
            if state.state == CRASH_LOOP:
                kill.failure = f"crash loop: {state.last_failure}"
                return
            if state.restarts > restarts_before and self._progressing(kill.component):
                kill.recovered_after_s = round(time.monotonic() - killed, 1)
                log.info("drill: back", component=kill.component, after_s=kill.recovered_after_s)
                return
            time.sleep(0.5)
        kill.failure = kill.failure or f"not back within {self._recovery_timeout_s:.0f} s"

    def _all_running(self) -> bool:
        """Wait until every supervised component runs; False if the drill stopped first
        or one is crash-looping."""
        while not self._stop.is_set():
            states = self._supervisor.snapshot().values()
            if any(state.state == CRASH_LOOP for state in states):
                return False
            if all(state.state == RUNNING for state in states):
                return True
            time.sleep(0.5)
        return False

    def _progressing(self, component: str) -> bool:
        """Whether the platform answers and its progress figure grows (within 30 s)."""
        try:
            first = self._progress(component)
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline and not self._stop.is_set():
                if self._progress(component) > first:
                    return True
                time.sleep(0.25)
        except RuntimeError:  # the platform is not answering (yet)
            return False
        return False


def drill_problems(
    planned: Sequence[str], kills: list[Kill], restarts: dict[str, int]
) -> list[str]:
    """What went wrong in a drill, beyond what the run's own verification checks."""
    problems = []
    if len(kills) < len(planned):
        problems.append(f"only {len(kills)} of the {len(planned)} planned kills happened")
    for kill in kills:
        if kill.recovered_after_s is None:
            problems.append(f"{kill.component} did not come back: {kill.failure}")
    for component, count in Counter(kill.component for kill in kills).items():
        if restarts.get(component, 0) < count:
            problems.append(
                f"{component} was killed {count}x but restarted "
                f"{restarts.get(component, 0)}x during the run"
            )
    return problems


def run_crash_drill(
    processes: LocalProcesses,
    components: Sequence[str],
    request: RunRequest,
    console: Console,
    json_path: Path | None,
) -> int:
    """Bring the local platform up, run the drill beside a producing run, verify; the exit code."""
    stop = threading.Event()
    with stop_on_signals(stop), running_platform(processes, console) as running:
        if running.supervisor is None:
            raise RuntimeError("a drill supervises the platform it starts")
        drill = CrashDrill(
            processes,
            running.supervisor,
            components,
            duration_s=request.duration_s or 0.0,
            # Rows stored, whichever component was killed: sessions close only after
            # their gap (30 minutes by default), far later than a drill lasts.
            progress=lambda _: int(running.control.stats()["rows_stored"]),
        )
        try:
            run = run_pipeline(processes, running, console, replace(request, alongside=drill), stop)
        finally:
            drill.stop()
    if run is None or run.summary is None:
        return 1
    problems = drill_problems(components, drill.kills, run.summary.restarts)
    _print_kills(console, drill.kills, problems)
    if json_path is not None:
        kills = [kill.to_dict() for kill in drill.kills]
        write_summary(run.summary, json_path, extra={"kills": kills, "drill_problems": problems})
    return 0 if run.summary.passed and not problems else 1


def _print_kills(console: Console, kills: list[Kill], problems: list[str]) -> None:
    table = Table(title="crash drill")
    for column in ("component", "killed at", "back after", "failure"):
        table.add_column(column)
    for kill in kills:
        back = "—" if kill.recovered_after_s is None else f"{kill.recovered_after_s:.1f} s"
        table.add_row(kill.component, f"{kill.at_s:.1f} s", back, kill.failure)
    console.print(table)
    if problems:
        console.print("[bold red]drill: FAIL[/]")
        for problem in problems:
            console.print(f"  [red]•[/] {escape(problem)}")
    else:
        console.print(
            "[bold green]drill: PASS[/] — every killed component came back, and events "
            "were stored again after each kill"
        )
