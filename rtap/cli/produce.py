"""`rtap produce`: synthetic events into a running broker, with their ground truth."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from rtap.cli.common import (
    FAILURES,
    Rate,
    Seed,
    Stack,
    command_group,
    console,
    fail,
    local_platform,
)
from rtap.local.runs.produce import produce_standalone

app = command_group()


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
        settings, processes = local_platform(stack)
        updates: dict[str, object] = {"seed": seed}
        if rate:
            updates["rate_per_second"] = rate
        if malformed_share is not None:
            updates["malformed_share"] = malformed_share
        directory = processes.paths.runs / f"produce-{time.strftime('%Y%m%dT%H%M%S')}"
        ok = produce_standalone(
            settings.model_copy(update={"producer": settings.producer.model_copy(update=updates)}),
            bootstrap or processes.bootstrap,
            duration,
            directory,
            console,
        )
    except FAILURES as error:
        raise fail(error) from None
    if not ok:
        raise typer.Exit(1)
