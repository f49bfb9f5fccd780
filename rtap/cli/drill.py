"""`rtap drill`: a crash drill on the local platform (runbook: runbooks/crash-drill.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from rtap.cli.common import FAILURES, JsonOut, Stack, command_group, fail, local_platform
from rtap.cli.common import console as default_console
from rtap.local.processes.local_processes import COMPONENTS
from rtap.local.runs.drill import run_crash_drill
from rtap.local.runs.run import RunRequest

# The help text promises this order: the platform first, the broker before redis.
DEFAULT_KILLS = ["platform", "sessions", "kafka", "redis"]
app = command_group()

Kill = Annotated[
    list[str] | None,
    typer.Option(
        "--kill",
        help="A component to kill -9: platform, sessions, kafka or redis. Repeat the "
        "option for several kills, done in that order. Default: all four, in that order.",
    ),
]


@app.command()
def drill(
    *,
    stack: Stack = "local",
    kill: Kill = None,
    rate: Annotated[int, typer.Option(help="Events per second to produce.", min=1)] = 5_000,
    duration: Annotated[
        float,
        typer.Option(
            help="Seconds to produce at least; the kills are spread evenly over them, and "
            "producing goes on until the last killed component is back.",
            min=30,
        ),
    ] = 120.0,
    json_path: JsonOut = None,
) -> None:
    """Crash drill: kill components with `kill -9` while events flow, then verify.

    Brings the local platform up and produces synthetic events. During the run it kills
    each `--kill` component in turn (its whole process group, as the OOM killer would)
    and waits until the supervisor has restarted it and the pipeline stores events
    again; then the run drains and is verified like `rtap up --duration`: every
    acknowledged event stored exactly once, rollups equal to the ground truth, every
    malformed event dead-lettered.

    Prints when each kill landed and how long its component took to come back. Exits 1
    if the verification fails, a component did not come back, or one crash-looped.
    """
    components = kill or DEFAULT_KILLS
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown:
        raise typer.BadParameter(
            f"no component named {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}",
            param_hint="--kill",
        )
    try:
        settings, processes = local_platform(stack)
        producer = settings.producer.model_copy(update={"rate_per_second": rate})
        code = run_crash_drill(
            processes, components, RunRequest(duration, producer), default_console, json_path
        )
    except FAILURES as error:
        raise fail(error) from None
    if code:
        raise typer.Exit(code)
