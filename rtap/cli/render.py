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
from rtap.render.apiserver import ApiServerError, local_api_server
from rtap.render.checks import deployability_errors
from rtap.render.placement import stateful_placement
from rtap.render.program import Rendered, RenderError, render
from rtap.render.report import kinds_per_namespace, write
from rtap.render.server_check import check_on_server
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
Server = Annotated[
    bool,
    typer.Option(
        "--server",
        help="Also apply every object to a real Kubernetes API server on loopback (etcd, "
        "kube-apiserver with Pod Security admission, and the controller manager, built once "
        "per machine from Go modules): the CRDs first, then a server-side dry run of each "
        "object, then for real so that the controllers make the Pods and admission sees "
        "them. Catches what only the server checks: CEL rules, strict field validation, "
        "the built-in kinds' own validation and Pod Security. Adds about 15 s.",
    ),
]


app = command_group()


@app.command("render")
def render_command(
    stack: Stack = "dev", out: Out = None, include: Include = None, server: Server = False
) -> None:
    """Run the Pulumi program for STACK offline and check everything it declares.

    The program runs under Pulumi's mock runtime, the standard way to test a program
    without a cloud: no Pulumi CLI, credentials or cluster are needed. Each Kubernetes
    object is validated against the Kubernetes schemas (strict: a misspelt field fails)
    and each custom resource against the operators' CRD schemas; a kind found in neither
    is an error. Then what no schema sees: waits on custom resources, pinned images,
    requests that fit the node groups, Kafka ACLs that allow everything each workload's
    code does (workloads/kafka_uses.py), and the rules of the policy pack (policy/).
    Prints objects per kind and namespace and the pods per zone of every stateful
    workload. Exits 1 on any validation error (each names the object and the
    field) and 2 on invalid stack config (naming the key).

    With --server the objects also go to a real API server (see the option); its
    rejections count as validation errors, its warnings are printed.
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
    if not errors:
        console.print(
            f"[green]✓[/] {len(rendered.manifests)} objects valid against Kubernetes "
            f"{settings.cluster.kubernetes_version} and the CRD schemas"
        )
    if server:
        errors += _server_check(rendered)
    if errors:
        for error in errors:
            console.print(f"[red]✗[/] {escape(error)}", soft_wrap=True)
        console.print(f"[bold red]{len(errors)} validation errors[/]")
        raise typer.Exit(1)


def _server_check(rendered: Rendered) -> list[str]:
    """The server-side check's rejections, after printing its progress and warnings."""
    console.print("Starting a Kubernetes API server on loopback (the first run builds it)")
    try:
        with local_api_server() as api:
            console.print(f"Applying {len(rendered.manifests)} objects to Kubernetes {api.version}")
            report = check_on_server(rendered.manifests, api)
    except ApiServerError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    for warning in report.warnings:
        console.print(f"[yellow]![/] {escape(warning)}", soft_wrap=True)
    if not report.rejections:
        console.print(
            f"[green]✓[/] {report.applied} objects accepted by Kubernetes {report.version}, "
            f"and the Pods of {report.pods_checked} workloads admitted"
        )
    return report.rejections


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
