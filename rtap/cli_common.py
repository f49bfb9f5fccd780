"""What the rtap commands share: options, loading a stack, and failing with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from core.logs import configure_logging
from core.settings import SettingsError
from core.stack_config import find_project_dir
from core.stack_config import load_stack as load_stack_settings
from infra.settings import StackSettings
from rtap.local.control_client import ControlError
from rtap.local.prerequisites import PrerequisiteError
from rtap.local.stack import LocalStack, StartupError
from workloads.kafka import TopicMismatchError

console = Console()

Stack = Annotated[
    str,
    typer.Option("--stack", "-s", help="Stack whose settings to use: stacks/Pulumi.STACK.yaml."),
]
Rate = Annotated[
    int | None,
    typer.Option(
        help="Events per second to produce (default: rtap:producer.ratePerSecond).", min=1
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        help="Seed of the synthetic traffic (default: a new one per run, reported in the "
        "summary). One seed always sends the same event ids.",
        min=0,
    ),
]
JsonOut = Annotated[
    Path | None, typer.Option("--json", help="Write the run summary as JSON to this file.")
]
FAILURES = (
    SettingsError,
    PrerequisiteError,
    StartupError,
    TopicMismatchError,
    ControlError,
    TimeoutError,
)


def load_stack(stack: str) -> tuple[StackSettings, LocalStack]:
    project_dir = find_project_dir()
    settings = load_stack_settings(StackSettings, stack, project_dir)
    local = LocalStack(settings, project_dir, stack)
    local.paths.logs.mkdir(parents=True, exist_ok=True)
    configure_logging(local.paths.logs / "rtap.log")
    return settings, local


def fail(error: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(str(error))}")
    return typer.Exit(2 if isinstance(error, SettingsError) else 1)
