"""What the rtap commands share: how a command group is made, the common options,
loading a stack for the local platform, and failing with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from core.logs import configure_logging
from core.settings import SettingsError
from core.stack_config import find_project_dir, load_stack
from infra.settings import StackSettings
from loadtests.errors import BenchmarkError
from rtap.go_tools import ToolBuildError
from rtap.local.platform.control_client import ControlError
from rtap.local.prerequisites import PrerequisiteError
from rtap.local.processes.local_processes import LocalProcesses, StartupError
from workloads.kafka import TopicMismatchError

console = Console()


def command_group(
    name: str | None = None, help: str | None = None, *, no_args_is_help: bool | None = None
) -> typer.Typer:
    """A module's commands: a group under `name` (`rtap bench …`), or, without a name,
    commands of their own at the top level (`rtap up`). rtap/cli/__init__.py adds each.

    A group shows its help when called without a command (as the root `rtap` does)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=name is not None if no_args_is_help is None else no_args_is_help,
        rich_markup_mode="markdown",
        pretty_exceptions_enable=False,
    )


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
    BenchmarkError,
    SettingsError,
    PrerequisiteError,
    StartupError,
    TopicMismatchError,
    ControlError,
    TimeoutError,
    ToolBuildError,
)


def local_platform(stack: str) -> tuple[StackSettings, LocalProcesses]:
    """The stack's settings and the local platform's processes they describe; from here
    on the CLI logs to the run directory."""
    project_dir = find_project_dir()
    settings = load_stack(StackSettings, stack, project_dir)
    processes = LocalProcesses(settings, project_dir)
    processes.paths.logs.mkdir(parents=True, exist_ok=True)
    configure_logging(processes.paths.logs / "rtap.log")
    return settings, processes


def fail(error: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(str(error))}")
    return typer.Exit(2 if isinstance(error, SettingsError) else 1)
