"""The operators' CustomResourceDefinitions, declared by the program.

Helm installs a chart's `crds/` folder on the first install and never again, so an
operator upgrade would run against its old CRDs. rtap installs the charts with
`skipCrds` and declares the CRDs itself, from the original files of the pinned release in
infra/upstream-crds/<operator>-<version>/: a version bump changes them, and `pulumi up`
applies the new ones (server-side, before the new operator starts).

The CRDs are retained on delete: deleting one deletes every object of its kind, the
Kafka cluster and the ClickHouse installation with their volumes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

UPSTREAM_CRDS = Path(__file__).resolve().parents[1] / "upstream-crds"


def folder(operator: str, version: str) -> Path:
    return UPSTREAM_CRDS / f"{operator}-{version}"


def vendored_versions(operator: str) -> list[str]:
    prefix = f"{operator}-"
    return sorted(p.name.removeprefix(prefix) for p in UPSTREAM_CRDS.glob(f"{prefix}[0-9]*"))


# libyaml's parser (PyYAML's wheels ship it): the pure-Python one takes about 14 s for the
# three operators' 3.5 MB of CRDs, which every `rtap render` and `pulumi up` reads.
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """Reads a bare `=` as the string it is: prometheus-operator's AlertmanagerConfig CRD
    has one in an enum, which YAML 1.1 tags as a `value` that PyYAML cannot construct."""


_Loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_scalar)
_LOADER = _Loader


def crds_in(path: Path) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions of one YAML file."""
    return [
        document
        for document in yaml.load_all(path.read_text(), Loader=_LOADER)
        if document and document.get("kind") == "CustomResourceDefinition"
    ]


@cache
def definitions(operator: str, version: str) -> tuple[dict[str, Any], ...]:
    """The release's CRDs as written upstream, in file order."""
    files = sorted(folder(operator, version).glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"no CRDs of {operator} {version} in {UPSTREAM_CRDS}")
    return tuple(crd for path in files for crd in crds_in(path))


def declare(
    operator: str, version: str, labels: dict[str, str], parent: pulumi.Resource
) -> list[k8s.apiextensions.v1.CustomResourceDefinition]:
    """One resource per CRD of the release, with rtap's `labels` added to upstream's
    (the spec stays as written); the operator's Release depends on them."""
    return [
        k8s.apiextensions.v1.CustomResourceDefinition(
            crd["metadata"]["name"],
            metadata={
                **crd["metadata"],
                "labels": {**crd["metadata"].get("labels", {}), **labels},
            },
            spec=crd["spec"],
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
        )
        for crd in definitions(operator, version)
    ]
