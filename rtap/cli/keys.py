"""`rtap keys`: API keys for the serving API, stored hashed with their scopes."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import SettingsError
from core.stack_config import find_project_dir, load_stack
from infra.settings import StackSettings
from rtap.cli.common import command_group
from rtap.local.paths import RunPaths
from workloads.serving.auth import KeyStore, Scope

app = command_group(
    "keys",
    help="Manage API keys. A key carries scopes: events:read (aggregates) and users:read "
    "(per-user data). Keys are stored as SHA-256 hashes; a running API picks up changes "
    "within a second.",
)
console = Console()
Stack = Annotated[str, typer.Option("--stack", "-s", help="Stack: stacks/Pulumi.STACK.yaml.")]


def _store(stack: str) -> KeyStore:
    try:
        project_dir = find_project_dir()
        settings = load_stack(StackSettings, stack, project_dir)
    except SettingsError as error:
        console.print(f"[bold red]error:[/] {error}", markup=False)
        raise typer.Exit(2) from None
    return KeyStore(RunPaths.of(settings, project_dir).api_keys)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. grafana.")],
    scope: Annotated[
        list[Scope], typer.Option(help="A scope to grant (repeatable).", case_sensitive=False)
    ],
    stack: Stack = "local",
) -> None:
    """Create a key and print it once; only its hash is kept."""
    record, token = _store(stack).create(name, scope)
    console.print(f"created key {record.key_id} ({name}) with scopes {', '.join(record.scopes)}")
    console.print("the key (shown once, store it now):")
    console.print(token, markup=False, highlight=False, soft_wrap=True)


@app.command("list")
def list_keys(stack: Stack = "local") -> None:
    """List keys: id, name, scopes, created and revoked times."""
    table = Table(title="API keys")
    for column in ("id", "name", "scopes", "created", "revoked"):
        table.add_column(column)
    for record in _store(stack).list():
        table.add_row(
            record.key_id,
            record.name,
            " ".join(record.scopes),
            _when(record.created_at),
            _when(record.revoked_at) if record.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, from `rtap keys list`.")],
    stack: Stack = "local",
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    try:
        _store(stack).revoke(key_id)
    except KeyError:
        console.print(f"[bold red]error:[/] no key with id {key_id}; see `rtap keys list`")
        raise typer.Exit(1) from None
    console.print(f"revoked key {key_id}")


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + " UTC"
