"""rtap: a real-time analytics platform as code.

Locally (the embedded default) the commands run the whole pipeline on real engines: an
Apache Kafka broker in KRaft mode, Spark Structured Streaming, the chDB ClickHouse
engine and redis-server. Settings come from `stacks/Pulumi.STACK.yaml` (`--stack`,
default `local`); `RTAP_SECTION__KEY` environment variables override single keys.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rtap.bench_cli import bench_app
from rtap.cli_common import FAILURES, JsonOut, Rate, Seed, Stack, console, fail, load_stack
from rtap.drill_cli import drill_command
from rtap.keys_cli import keys_app
from rtap.local.produce import produce_standalone
from rtap.local.runner import write_summary
from rtap.local.session import (
    RunRequest,
    run_pipeline,
    running_stack,
    stop_on_signals,
    stop_supervising_cli,
)
from rtap.local.stack import COMPONENTS
from rtap.local.status_file import StatusFile
from rtap.render_cli import render_command

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.add_typer(bench_app, name="bench")
app.add_typer(keys_app, name="keys")
app.command(name="render")(render_command)
app.command(name="drill")(drill_command)


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
        settings, local = load_stack(stack)
        overrides = {"rate_per_second": rate or settings.producer.rate_per_second, "seed": seed}
        producer = settings.producer.model_copy(update=overrides)
        stop = threading.Event()
        with stop_on_signals(stop), running_stack(local, console) as running:
            if not produce:
                console.print("running without a producer; Ctrl-C stops")
                while not stop.wait(0.5):
                    pass
                return
            run = run_pipeline(local, running, console, RunRequest(duration, producer), stop)
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
        _, local = load_stack(stack)
        with console.status("asking the running rtap CLI to stop"):
            cli = stop_supervising_cli(local)
        if cli is not None:
            console.print(f"stopped the rtap CLI that supervised the stack (pid {cli})")
        stopped = local.stop()
        console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        if purge:
            local.purge()
            console.print(f"deleted {local.paths.root}")
    except FAILURES as error:
        raise fail(error) from None


@app.command()
def status(stack: Stack = "local") -> None:
    """Show which components run, the streaming queries' state and what is stored."""
    try:
        _, local = load_stack(stack)
        table = Table(title=f"rtap ({stack}), run directory {local.paths.root}")
        for column in ("component", "state", "pids", "restarts", "last failure"):
            table.add_column(column)
        supervision = StatusFile(local.paths.supervisor_status).read() or {}
        watched = supervision.get("components", {})
        for name in reversed(COMPONENTS):
            members = local.registry.members(name)
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
        if not supervision and local.running_components():
            console.print(
                "[yellow]no `rtap up` supervises these processes: nothing restarts one that "
                "dies[/] (`rtap down`, then `rtap up`)"
            )
        if local.registry.is_running("platform"):
            stats = local.control().stats()
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
    except FAILURES as error:
        raise fail(error) from None


@app.command()
def produce(
    *,
    stack: Stack = "local",
    rate: Rate = None,
    duration: Annotated[float, typer.Option(help="Seconds to produce.", min=0.1)] = 10.0,
    seed: Seed = None,
    malformed_share: Annotated[
        float | None,
        typer.Option(help="Share of deliberately malformed events, 0..1.", min=0.0, max=1.0),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Kafka bootstrap servers (default: the local broker)."),
    ] = None,
) -> None:
    """Send synthetic events to the events topic and record what Kafka acknowledged.

    The ground truth (acknowledged ids, counts per type and minute, malformed counts per
    reason) is written to a folder under the run directory, and the command exits 1 if any
    delivery failed.
    """
    try:
        settings, local = load_stack(stack)
        updates: dict[str, object] = {"seed": seed}
        if rate:
            updates["rate_per_second"] = rate
        if malformed_share is not None:
            updates["malformed_share"] = malformed_share
        directory = local.paths.runs / f"produce-{time.strftime('%Y%m%dT%H%M%S')}"
        ok = produce_standalone(
            settings.model_copy(update={"producer": settings.producer.model_copy(update=updates)}),
            bootstrap or local.bootstrap,
            duration,
            directory,
            console,
        )
    except FAILURES as error:
        raise fail(error) from None
    if not ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
