"""Run the Pulumi program offline for one stack and collect what it declares."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from rtap.render.mocks import Node, RecordingMocks, Ref, graph_recorder

PROJECT = "rtap"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
REDACTED = "<secret>"
_K8S_PREFIX = "kubernetes:"
_HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


# Runs a function as a Pulumi program under the mocks and waits for every registration.
run_under_mocks: Callable[[Callable[[], None]], Callable[[], None]] = pulumi.runtime.test


class RenderError(RuntimeError):
    """The program could not be rendered (bad stack config, a program error)."""

    def __init__(self, message: str, declared: int = 0) -> None:
        super().__init__(message)
        # Resources the program had declared when it stopped (0 for config errors).
        self.declared = declared


@dataclass
class Rendered:
    stack: str
    # Kubernetes objects as they would be applied (secret values redacted).
    manifests: list[dict[str, Any]] = field(default_factory=list)
    helm_releases: list[dict[str, Any]] = field(default_factory=list)
    # Everything else (AWS, random, components): type and name.
    other: list[tuple[str, str]] = field(default_factory=list)
    # Every declaration with its raw inputs, secrets still wrapped (for tests).
    raw: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Every declaration's component and dependencies, in declaration order.
    graph: list[Node] = field(default_factory=list)
    # The Kubernetes objects of `manifests` by the resource that declares them.
    objects: dict[Ref, dict[str, Any]] = field(default_factory=dict)
    # The program's validated settings (None only if it failed before loading them).
    settings: Any = None


def stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """The stack file's config as the Pulumi engine hands it to a program: objects as JSON."""
    path = project_dir / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.split(".")[1] for p in (project_dir / "stacks").glob("Pulumi.*.yaml"))
        raise RenderError(f"no stack file {path}; stacks here: {', '.join(known)}")
    document = yaml.safe_load(path.read_text()) or {}
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, Mapping) and "secure" in value:
            # Ciphertext needs the stack's secrets provider; the program sees a stand-in.
            config[key] = "rtap-render-secure-value"
        elif isinstance(value, str):
            config[key] = value
        else:
            config[key] = json.dumps(value)
    return config


def render(project_dir: Path, stack: str, config: Mapping[str, str] | None = None) -> Rendered:
    """Declare the stack's resources under mocks; `config` replaces the stack file's."""
    values = dict(config) if config is not None else stack_config(project_dir, stack)
    mocks = RecordingMocks()
    pulumi.runtime.set_all_config(values, [])
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    main = project_dir / "infra" / "__main__.py"

    program_globals: dict[str, Any] = {}
    graph: list[Node] = []

    def program() -> None:
        pulumi.runtime.register_stack_transformation(graph_recorder(graph))
        program_globals.update(runpy.run_path(str(main), run_name="__main__"))

    try:
        run_under_mocks(program)()
    except pulumi.RunError as exc:
        raise RenderError(str(exc), len(mocks.declared)) from None
    rendered = _collect(stack, mocks)
    rendered.settings = program_globals.get("settings")
    # A copy: the root resource outlives this render in the process, and with it this
    # render's recorder, which would go on appending the next render's resources.
    rendered.graph = list(graph)
    return rendered


def _collect(stack: str, mocks: RecordingMocks) -> Rendered:
    rendered = Rendered(stack)
    for item in mocks.declared:
        rendered.raw.append((item.type, item.name, item.inputs))
        if item.type == _HELM_RELEASE:
            rendered.helm_releases.append(_release(item.inputs))
        elif item.type.startswith(_K8S_PREFIX):
            manifest = plain(item.inputs)
            rendered.manifests.append(manifest)
            rendered.objects[(item.type, item.name)] = manifest
        else:
            rendered.other.append((item.type, item.name))
    return rendered


def _release(inputs: dict[str, Any]) -> dict[str, Any]:
    release = plain(inputs)
    return {
        "name": release.get("name"),
        "namespace": release.get("namespace"),
        "chart": release.get("chart"),
        "version": release.get("version"),
        "repository": (release.get("repositoryOpts") or {}).get("repo"),
        # The program declares the charts' CRDs itself (infra/components/crds.py).
        "skipCrds": bool(release.get("skipCrds")),
        "values": release.get("values", {}),
    }


def plain(value: Any) -> Any:
    """Mock inputs as a manifest: secrets redacted, whole floats back to integers."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) is not None:
            return _redact(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED for k in value}
    return REDACTED
