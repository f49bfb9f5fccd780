"""Helpers for tests of the Pulumi program rendered offline under mocks (the `rendered`
fixture is in tests/unit/conftest.py, for the render tests too)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from rtap.render.program import Rendered, render, stack_config

PROJECT = Path(__file__).resolve().parents[3]
STACKS = ("dev", "staging", "prod")
# The `rendered` fixture: the program rendered for a stack, once per stack per session.
Render = Callable[[str], Rendered]


@cache
def render_once(stack: str) -> Rendered:
    """The stack as its file configures it, rendered once per session (a render takes 8 s
    or more): tests read it and never change it."""
    return render(PROJECT, stack)


def with_changes(stack: str, **sections: dict[str, Any] | str) -> dict[str, str]:
    """The stack's config with some `rtap:<section>` keys merged in (or replaced)."""
    config = stack_config(PROJECT, stack)
    for section, change in sections.items():
        key = f"rtap:{section}"
        if isinstance(change, dict):
            current = json.loads(config.get(key, "{}"))
            config[key] = json.dumps({**current, **change})
        else:
            config[key] = change
    return config


def of_kind(rendered: Rendered, kind: str) -> list[dict[str, Any]]:
    return [m for m in rendered.manifests if m["kind"] == kind]


def aws_declared(rendered: Rendered) -> list[tuple[str, str]]:
    """(type, name) of every AWS resource the program declared."""
    return [(t, n) for t, n in rendered.other if t.startswith("aws:")]


def stack_values(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((PROJECT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return {k.removeprefix("rtap:"): v for k, v in document["config"].items()}


def pod_specs(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod spec) of every pod an object defines directly."""
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind in ("Deployment", "StatefulSet", "Job"):
        yield kind, spec["template"]["spec"]
    for template in spec.get("templates", {}).get("podTemplates", []):
        yield f"podTemplate {template['name']}", template["spec"]


def listed_and_present_digests(folder: Path, pattern: str) -> tuple[dict[str, str], dict[str, str]]:
    """(file → sha256 as folder/SHA256SUMS lists it, file → sha256 of what is there)."""
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    present = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob(pattern)
    }
    return listed, present
