"""`rtap up`, `rtap down` and `rtap status`: the local platform's life cycle."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rtap.cli.common import (
    FAILURES,
    JsonOut,
    Rate,
    Seed,
    Stack,
    command_group,
    console,
    fail,
    local_platform,
)
from rtap.local.processes.local_processes import COMPONENTS
from rtap.local.processes.monitoring import PROMETHEUS, active_alerts
from rtap.local.runs.pipeline_run import write_summary
from rtap.local.runs.run import (
    RunRequest,
    run_pipeline,
    running_platform,
    stop_on_signals,
    stop_supervising_cli,
)
from rtap.local.runs.view import alerts_table
from rtap.local.status_file import StatusFile

app = command_group()


@app.command()
def up(
    *,
    stack: Stack = "local",
    duration: Annotated[
        float | None,
        typer.Option(
            help="Produce for this many seconds, then drain, verify and exit (non-zero if "
            "anything is off). Without it, run until Ctrl-C.",
            min=1,
        ),
    ] = None,
    rate: Rate = None,
    seed: Seed = None,
    json_path: JsonOut = None,
    produce: Annotated[bool, typer.Option(help="Run the synthetic producer.")] = True,
) -> None:
    """Bring the whole pipeline up locally and show it working.

    Starts a Kafka broker (KRaft), redis-server and the platform process (chDB plus the
    Spark streaming job), applies the ClickHouse migrations, then produces synthetic events
    (1% malformed by default) and shows events/s produced and stored, rows in ClickHouse,
    end-to-end freshness, micro-batch times and dead letters.

    With `--duration`, producing stops after that many seconds; rtap waits for the pipeline
    to drain and verifies that every acknowledged valid event is stored exactly once, that
    the per-minute rollups equal the producer's ground truth and that every malformed event
    reached the dead-letter topic. It exits 1 if anything is off.

    Ctrl-C stops everything cleanly; `rtap down` cleans up after a crash.
    """
    try:
        settings, processes = local_platform(stack)
        overrides = {"rate_per_second": rate or settings.producer.rate_per_second, "seed": seed}
        producer = settings.producer.model_copy(update=overrides)
        stop = threading.Event()
        with stop_on_signals(stop), running_platform(processes, console) as running:
            if not produce:
                console.print("running without a producer; Ctrl-C stops")
                while not stop.wait(0.5):
                    pass
                return
            run = run_pipeline(processes, running, console, RunRequest(duration, producer), stop)
    except FAILURES as error:
        raise fail(error) from None
    if run is not None and run.summary is not None:
        if json_path is not None:
            write_summary(run.summary, json_path)
        if not run.summary.passed:
            raise typer.Exit(1)


@app.command()
def down(
    stack: Stack = "local",
    purge: Annotated[
        bool,
        typer.Option(help="Also delete all local data: topics, tables, checkpoints and runs."),
    ] = False,
) -> None:
    """Stop what rtap started here: only rtap's own processes, by pid.

    A running `rtap up` (or bench, or drill) is asked to stop first, as Ctrl-C would, so
    that its supervisor does not restart what this stops; then whatever a crashed run
    left behind is stopped.
    """
    try:
        _, processes = local_platform(stack)
        with console.status("asking the running rtap CLI to stop"):
            cli = stop_supervising_cli(processes)
        if cli is not None:
            console.print(f"stopped the rtap CLI that supervised the local platform (pid {cli})")
        stopped = processes.stop()
        console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        if purge:
            processes.purge()
            console.print(f"deleted {processes.paths.root}")
    except FAILURES as error:
        raise fail(error) from None


@app.command()
def status(stack: Stack = "local") -> None:
    """Show which components run, the streaming queries' state, what is stored, and the
    alerts the local Prometheus has pending or firing (the stack's own rules)."""
    try:
        _, processes = local_platform(stack)
        table = Table(title=f"rtap ({stack}), run directory {processes.paths.root}")
        for column in ("component", "state", "pids", "restarts", "last failure"):
            table.add_column(column)
        supervision = StatusFile(processes.paths.supervisor_status).read() or {}
        watched = supervision.get("components", {})
        for name in reversed(COMPONENTS):
            members = processes.registry.members(name)
            state = "[green]running[/]" if members else "[dim]stopped[/]"
            seen = watched.get(name, {})
            if seen.get("state", "running") != "running":
                state = f"[yellow]{seen['state']}[/]"
            table.add_row(
                name,
                state,
                " ".join(str(p.pid) for p in members),
                str(seen.get("restarts", "—")),
                escape(seen.get("last_failure", "")),
            )
        console.print(table)
        if not supervision and processes.running_components():
            console.print(
                "[yellow]no `rtap up` supervises these processes: nothing restarts one that "
                "dies[/] (`rtap down`, then `rtap up`)"
            )
        if processes.registry.is_running("platform"):
            stats = processes.control().stats()
            p95 = stats["freshness_p95_s"]
            console.print(
                f"rows in ClickHouse: {stats.get('clickhouse_rows', 0):,}; dead letters "
                f"written: {stats['dead_letters_written']:,}; freshness p95 since start: "
                + ("—" if p95 is None else f"{p95:.2f} s")
            )
            for name, query in sorted(stats["queries"].items()):
                console.print(
                    f"query {name}: {'running' if query['active'] else 'restarting'}, "
                    f"{query['restarts']} restarts, committed up to {query['end_offsets']}"
                )
        if processes.registry.is_running(PROMETHEUS):
            for part in alerts_table(active_alerts(processes.settings)):
                console.print(part)
    except FAILURES as error:
        raise fail(error) from None
