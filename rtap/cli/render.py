"""`rtap render`: the Pulumi program, offline, as YAML you can read and diff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from core.stack_config import find_project_dir
from rtap.cli.common import Stack, command_group, console
from rtap.render.checks import deployability_errors
from rtap.render.placement import stateful_placement
from rtap.render.program import Rendered, RenderError, render
from rtap.render.report import kinds_per_namespace, write
from rtap.render.validate import validate_all

Out = Annotated[
    Path | None,
    typer.Option(
        help="Write the objects (one YAML file per namespace) and each Helm release's "
        "chart, version and values here. Default: .rtap/render/STACK."
    ),
]
Include = Annotated[
    list[Path] | None,
    typer.Option(
        help="Also validate (and write) the objects in this YAML file; repeatable. "
        "For manifests you keep beside the program."
    ),
]


app = command_group()


@app.command("render")
def render_command(stack: Stack = "dev", out: Out = None, include: Include = None) -> None:
    """Run the Pulumi program for STACK offline and check everything it declares.

    The program runs under Pulumi's mock runtime, the standard way to test a program
    without a cloud: no Pulumi CLI, credentials or cluster are needed. Each Kubernetes
    object is validated against the Kubernetes schemas (strict: a misspelt field fails)
    and each custom resource against the operators' CRD schemas; a kind found in neither
    is an error. Prints objects per kind and namespace and the pods per zone of every
    stateful workload. Exits 1 on any validation error (each names the object and the
    field) and 2 on invalid stack config (naming the key).
    """
    if stack == "local":
        console.print(
            "[bold red]error:[/] the local stack is the embedded platform (`rtap up`), not a "
            "deployment; render dev, staging, prod or a stack of your own"
        )
        raise typer.Exit(2)
    project_dir = find_project_dir()
    try:
        rendered = render(project_dir, stack)
    except RenderError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    extra = [obj for path in include or [] for obj in _load(path)]
    rendered.manifests.extend(extra)
    settings = rendered.settings
    version = settings.cluster.kubernetes_version
    errors = validate_all(rendered.manifests, version) + deployability_errors(rendered, version)
    target = out or project_dir / ".rtap" / "render" / stack
    written = write(rendered, target)
    _summary(rendered, settings)
    console.print(f"Wrote {len(written)} files to {target}")
    if errors:
        for error in errors:
            console.print(f"[red]✗[/] {escape(error)}", soft_wrap=True)
        console.print(f"[bold red]{len(errors)} validation errors[/]")
        raise typer.Exit(1)
    console.print(
        f"[green]✓[/] {len(rendered.manifests)} objects valid against Kubernetes "
        f"{settings.cluster.kubernetes_version} and the CRD schemas"
    )


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except (OSError, yaml.YAMLError) as exc:
        console.print(f"[bold red]error:[/] cannot read {path}: {escape(str(exc))}")
        raise typer.Exit(2) from None


def _summary(rendered: Rendered, settings: Any) -> None:
    kinds = Table(title=f"Objects of stack {rendered.stack}")
    for column in ("namespace", "kind", "count"):
        kinds.add_column(column, justify="right" if column == "count" else "left")
    for (namespace, kind), count in sorted(kinds_per_namespace(rendered).items()):
        kinds.add_row(namespace, kind, str(count))
    console.print(kinds)
    releases = Table(title="Helm releases")
    for column in ("release", "namespace", "chart", "version"):
        releases.add_column(column)
    for r in rendered.helm_releases:
        releases.add_row(r["name"], r["namespace"], r["chart"], r["version"])
    console.print(releases)
    zones = settings.cluster.zones
    pods = Table(title="Pods per zone of the stateful workloads")
    pods.add_column("workload")
    for zone in [*zones, "unpinned"]:
        pods.add_column(zone, justify="right")
    for workload, counts in stateful_placement(rendered, zones).items():
        pods.add_row(workload, *(str(counts.get(z, 0) or "") for z in [*zones, "unpinned"]))
    console.print(pods)
    aws = sum(1 for token, _ in rendered.other if token.startswith("aws:"))
    console.print(f"AWS resources: {aws} (cluster.mode {settings.cluster.mode})")
