"""What `rtap up` and `rtap bench` do, with progress and a verdict on the console."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

import psutil
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import COMPONENTS, LocalProcesses
from rtap.local.processes.monitoring import active_alerts
from rtap.local.processes.supervisor import RestartPolicy, Supervisor, describe
from rtap.local.runs.pipeline_run import PipelineRun, RunSummary
from rtap.local.runs.view import LiveView
from rtap.local.status_file import StatusFile
from workloads.producer.settings import ProducerSettings


class Alongside(Protocol):
    """Work that runs beside the producer (a crash drill); producing goes on past the
    run's duration while it is still running."""

    def start(self) -> None: ...

    @property
    def running(self) -> bool: ...


@dataclass(frozen=True)
class RunRequest:
    duration_s: float | None
    producer: ProducerSettings
    drain_timeout_s: float = 600.0
    alongside: Alongside | None = None

    def done_producing(self, elapsed_s: float) -> bool:
        if self.duration_s is None or elapsed_s < self.duration_s:
            return False
        return self.alongside is None or not self.alongside.running


@dataclass(frozen=True)
class RunningPlatform:
    """A started local platform: the platform process's control client, and the
    supervisor that restarts components which die (None: the CLI that started the
    platform, `rtap up`, supervises it)."""

    control: ControlClient
    supervisor: Supervisor | None


@contextmanager
def running_platform(processes: LocalProcesses, console: Console) -> Iterator[RunningPlatform]:
    """The local platform, up and supervised for the duration of the block, then stopped
    in order."""
    published = StatusFile(processes.paths.supervisor_status)
    supervisor = Supervisor(
        processes,
        reversed(COMPONENTS),
        RestartPolicy(max_restarts=processes.settings.local.max_restarts),
        publish=lambda states: published.write("supervising", "", components=describe(states)),
    )
    try:
        with console.status("starting the local platform") as status:
            processes.start(lambda step: status.update(f"{step}…"))
        local_settings = processes.settings.local
        api = f"http://127.0.0.1:{local_settings.platform_port}"
        key = processes.dashboard_key()
        console.print(
            f"[green]platform up[/]: Kafka {processes.bootstrap}, redis 127.0.0.1:"
            f"{local_settings.redis_port}; logs in {processes.paths.logs}\n"
            f"  dashboard  {api}/#key={key}\n"
            f"  API        {api}/docs (REST), {api}/graphql; read key: {key}",
            soft_wrap=True,
        )
        supervisor.start()
        yield RunningPlatform(processes.control(), supervisor)
    finally:
        settled = supervisor.stop(timeout_s=5.0)
        with console.status("stopping") as status:
            stopped = processes.stop(lambda step: status.update(f"{step}…"))
            if not settled:  # a restart was under way: whatever it started goes as well
                supervisor.stop(timeout_s=float(processes.settings.local.startup_timeout_seconds))
                stopped += processes.stop(lambda step: status.update(f"{step}…"))
        processes.paths.supervisor_status.unlink(missing_ok=True)
        if stopped:
            console.print(f"stopped: {', '.join(stopped)}")


@contextmanager
def platform_for_run(processes: LocalProcesses, console: Console) -> Iterator[RunningPlatform]:
    """The running local platform, left running after the block; or, when none runs, one
    brought up and supervised for the block."""
    if processes.registry.is_running("platform"):
        console.print("using the running local platform")
        control = processes.control()
        try:
            yield RunningPlatform(control, None)
        finally:
            control.close()
        return
    with running_platform(processes, console) as running:
        yield running


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM ask for a clean stop; a second Ctrl-C interrupts at once."""

    def ask_to_stop(signum: int, _: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_pipeline(
    processes: LocalProcesses,
    running: RunningPlatform,
    console: Console,
    request: RunRequest,
    stop: threading.Event,
) -> PipelineRun | None:
    """Produce (with the live view), then drain and verify; None when stopped early.

    The verified run's summary is `run.summary`.
    """
    run = PipelineRun(processes, running.control, request.producer, running.supervisor)
    with console.status("waiting for earlier backlog to drain"):
        run.prepare()
    if run.producer is None:
        raise RuntimeError("the run has no producer after prepare()")
    producing_stop = threading.Event()
    worker = threading.Thread(target=run.produce, args=(None, producing_stop), name="producer")
    view = LiveView(
        running.control,
        processes.settings.sla,
        running.supervisor,
        alerts=lambda: active_alerts(processes.settings),
    )
    view.producer = run.producer.stats
    worker.start()
    started = time.monotonic()
    if request.alongside is not None:
        request.alongside.start()
    with Live(view.render(), console=console, refresh_per_second=1, get_renderable=view.render):
        while worker.is_alive():
            worker.join(0.25)
            if stop.is_set() or request.done_producing(time.monotonic() - started):
                producing_stop.set()
    if request.duration_s is None or stop.is_set():
        console.print("stopped producing")
        return None
    with console.status("draining: waiting for the pipeline to commit everything produced"):
        run.drain(request.drain_timeout_s)
    with console.status("verifying against the producer's ground truth"):
        summary = run.verify()
    print_summary(console, summary, processes.settings.sla.freshness_p95_seconds)
    return run


def print_summary(console: Console, summary: RunSummary, freshness_target_s: float) -> None:
    table = Table(title=f"run {summary.run_id}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")

    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f} s"

    rows = [
        ("produced (acknowledged)", f"{summary.produced:,}"),
        ("valid", f"{summary.valid:,}"),
        ("malformed → dead-lettered", f"{summary.malformed:,} → {summary.dead_lettered:,}"),
        ("stored raw (distinct)", f"{summary.stored_raw:,}"),
        (
            "duplicates / missing / unexpected",
            f"{summary.duplicates} / {summary.missing} / {summary.unexpected}",
        ),
        ("rollup cells / mismatches", f"{summary.rollup_cells:,} / {summary.rollup_mismatches}"),
        ("producer rate", f"{summary.producer_rate_eps:,.0f} events/s"),
        ("end-to-end throughput", f"{summary.throughput_eps:,.0f} events/s"),
        (
            "freshness p50 / p95 / p99",
            f"{seconds(summary.freshness_p50_s)} / {seconds(summary.freshness_p95_s)} / "
            f"{seconds(summary.freshness_p99_s)} (target p95 ≤ {freshness_target_s} s)",
        ),
        ("drain after producing stopped", f"{summary.drain_s:.1f} s"),
    ]
    if summary.restarts:
        restarted = ", ".join(f"{name} {count}x" for name, count in summary.restarts.items())
        rows.append(("restarted after a crash", restarted))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if summary.passed:
        console.print(
            "[bold green]verdict: PASS[/] — every acknowledged event stored exactly "
            "once, rollups equal the ground truth, every malformed event dead-lettered"
        )
    else:
        console.print("[bold red]verdict: FAIL[/]")
        for problem in summary.problems:
            console.print(f"  [red]•[/] {escape(problem)}")


def stop_supervising_cli(processes: LocalProcesses, timeout_s: float = 120.0) -> int | None:
    """Ask the `rtap up` (or bench, or drill) that supervises these processes to stop, as Ctrl-C
    would, and wait for it; its pid, or None when no CLI supervises them.

    Stopping the components under a running supervisor would only see them restarted.
    A CLI that does not stop within `timeout_s` is killed.
    """
    status = StatusFile(processes.paths.supervisor_status).read()
    if status is None:
        return None
    try:
        cli = psutil.Process(int(status["pid"]))
        if cli.pid == os.getpid() or "rtap" not in " ".join(cli.cmdline()):
            return None  # a recycled pid, not the CLI that wrote the status
        cli.terminate()
        try:
            cli.wait(timeout_s)
        except psutil.TimeoutExpired:
            cli.kill()
    except psutil.NoSuchProcess:
        return None  # it stopped on its own meanwhile
    return cli.pid
