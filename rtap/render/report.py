"""Writing a render to disk and summarising it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from rtap.render.program import Rendered

MARKER = "# Rendered by `rtap render"

# libyaml's emitter (PyYAML's wheels ship it): the pure-Python one took a third of a prod
# render (30 s, 20 with libyaml), dumping the CRDs. The documents are the same; only the
# folding of long quoted strings differs.
_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def write(rendered: Rendered, out: Path) -> list[Path]:
    """One YAML file per namespace of objects, one per release, in a stable order (by kind
    and name, keys sorted): Pulumi registers resources concurrently, so declaration order
    and key order vary from run to run, and two renders must diff cleanly.

    Files an earlier render left in `out` go first (only those: each starts with MARKER),
    so a release or namespace the program dropped does not linger."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.yaml"):
        with stale.open() as handle:
            if handle.readline().startswith(MARKER):
                stale.unlink()
    header = f"{MARKER} --stack {rendered.stack}`: what the Pulumi program declares.\n"
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for obj in sorted(rendered.manifests, key=_kind_and_name):
        namespace = obj.get("metadata", {}).get("namespace") or "cluster-scoped"
        by_namespace.setdefault(namespace, []).append(obj)
    written = []
    for namespace, objects in by_namespace.items():
        path = out / f"{namespace}.yaml"
        path.write_text(header + yaml.dump_all(objects, Dumper=_DUMPER, sort_keys=True))
        written.append(path)
    for release in rendered.helm_releases:
        path = out / f"helm-{release['name']}.yaml"
        path.write_text(header + yaml.dump(release, Dumper=_DUMPER, sort_keys=True))
        written.append(path)
    return written


def _kind_and_name(obj: dict[str, Any]) -> tuple[str, str]:
    # --include may bring objects without a name; they are reported, not a crash here.
    return str(obj.get("kind", "")), str((obj.get("metadata") or {}).get("name", ""))


def kinds_per_namespace(rendered: Rendered) -> Counter[tuple[str, str]]:
    return Counter(
        (obj.get("metadata", {}).get("namespace") or "(cluster)", obj["kind"])
        for obj in rendered.manifests
    )
