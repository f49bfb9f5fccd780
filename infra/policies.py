"""rtap's invariants over the Kubernetes objects a stack declares, stricter for prod.

One set of rules, run in two places: `rtap render` applies them to the rendered objects,
and the policy pack in policy/ applies them to the resources of a real `pulumi preview`
or `pulumi up` (`--policy-pack policy`). Pure Python on plain dicts (an object as its
manifest: apiVersion, kind, metadata, spec), so that the pack's own virtualenv needs only
pulumi-policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.images import pinned_image

Obj = dict[str, Any]
# infra/components/k8s.py's ZONE_LABEL and SETTINGS_CONFIG_MAP, which import Pulumi's SDKs.
ZONE_LABEL = "topology.kubernetes.io/zone"
SETTINGS_CONFIG_MAP = "rtap-settings"
MIN_PROD_ZONES = 3
MIN_PROD_REPLICAS = 3
MIN_PROD_INSYNC = 2
_CREDENTIAL = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|CREDENTIAL", re.I)
_POD_TEMPLATES = ("Deployment", "StatefulSet", "Job", "DaemonSet")
_SSL_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    # Checked for environment prod only; the others hold for every stack.
    prod_only: bool
    check: Callable[[list[Obj]], list[str]]


def describe(obj: Obj) -> str:
    """`Kind namespace/name`, as every check names an object."""
    metadata = obj.get("metadata") or {}
    namespace = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj.get('kind', '?')} {namespace}{metadata.get('name', '?')}"


def environment_of(objects: list[Obj]) -> str | None:
    """The stack's environment, from the settings ConfigMap every workload reads."""
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and obj["metadata"].get("name") == SETTINGS_CONFIG_MAP:
            settings = json.loads(obj.get("data", {}).get("settings.json", "{}"))
            return str(settings.get("environment")) if settings.get("environment") else None
    return None


def violations(objects: list[Obj], environment: str | None = None) -> list[str]:
    """Every rule's violations, each `rule: object: what is wrong`."""
    environment = environment or environment_of(objects)
    return [
        f"{rule.name}: {message}"
        for rule in RULES
        if environment == "prod" or not rule.prod_only
        for message in rule.check(objects)
    ]


def pod_specs(obj: Obj) -> Iterator[tuple[str, Obj]]:
    """(where, pod spec) of every pod template an object holds."""
    spec = obj.get("spec") or {}
    if obj.get("kind") in _POD_TEMPLATES:
        yield describe(obj), spec["template"]["spec"]
    for template in (spec.get("templates") or {}).get("podTemplates", []):
        yield f"{describe(obj)} podTemplate {template['name']}", template["spec"]


def _zones(objects: list[Obj]) -> list[str]:
    """Each stateful workload's pods over at least 3 zones: Strimzi node pools pinned by
    node affinity, an Altinity installation's pod templates by their `zone`."""
    pinned: dict[str, set[str]] = {}
    for obj in objects:
        if obj["kind"] == "KafkaNodePool":
            affinity = obj["spec"]["template"]["pod"].get("affinity", {})
            zones = pinned.setdefault("the Kafka node pools", set())
            for term in _node_terms(affinity):
                zones.update(*(e["values"] for e in term if e["key"] == ZONE_LABEL))
        if obj["kind"] == "ClickHouseInstallation":
            zones = pinned.setdefault(describe(obj), set())
            for template in obj["spec"]["templates"]["podTemplates"]:
                zones.update(template.get("zone", {}).get("values", []))
    return [
        f"{workload}: pinned to {len(zones)} zones; prod needs {MIN_PROD_ZONES}"
        for workload, zones in pinned.items()
        if len(zones) < MIN_PROD_ZONES
    ]


def _node_terms(affinity: Obj) -> Iterator[list[Obj]]:
    required = (affinity.get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms", []):
        yield term.get("matchExpressions", [])


def _replication(objects: list[Obj]) -> list[str]:
    found = []
    for topic in (o for o in objects if o["kind"] == "KafkaTopic"):
        replicas = topic["spec"].get("replicas", 1)
        insync = int((topic["spec"].get("config") or {}).get("min.insync.replicas", 1))
        if replicas < MIN_PROD_REPLICAS or insync < MIN_PROD_INSYNC:
            found.append(
                f"{describe(topic)}: replicas {replicas} and min.insync.replicas {insync}; "
                f"prod needs at least {MIN_PROD_REPLICAS} and {MIN_PROD_INSYNC}"
            )
    return found


def _disruption_budgets(objects: list[Obj]) -> list[str]:
    budgets = [
        o["spec"]["selector"].get("matchLabels", {})
        for o in objects
        if o["kind"] == "PodDisruptionBudget"
    ]
    found = []
    for obj in objects:
        kind, spec = obj["kind"], obj.get("spec") or {}
        if kind == "StatefulSet":
            labels = spec["template"]["metadata"].get("labels", {})
            covered = any(b and all(labels.get(k) == v for k, v in b.items()) for b in budgets)
        elif kind == "Kafka":
            covered = "podDisruptionBudget" in (spec["kafka"].get("template") or {})
        elif kind in {"ClickHouseInstallation", "ClickHouseKeeperInstallation"}:
            clusters = spec["configuration"]["clusters"]
            covered = all("pdbMaxUnavailable" in c for c in clusters)
        else:
            continue
        if not covered:
            found.append(f"{describe(obj)}: no PodDisruptionBudget limits its voluntary evictions")
    return found


def _sized(resources: Obj | None) -> bool:
    resources = resources or {}
    return all(
        (resources.get(part) or {}).get("cpu") and (resources.get(part) or {}).get("memory")
        for part in ("requests", "limits")
    )


def _requests_and_limits(objects: list[Obj]) -> list[str]:
    found = []
    for obj in objects:
        for where, pod in pod_specs(obj):
            for container in pod.get("initContainers", []) + pod.get("containers", []):
                if not _sized(container.get("resources")):
                    found.append(
                        f"{where} container {container.get('name')}: needs cpu and "
                        "memory requests and limits"
                    )
        if obj["kind"] == "KafkaNodePool" and not _sized(obj["spec"].get("resources")):
            found.append(f"{describe(obj)}: needs cpu and memory requests and limits")
    return found


def _tls(objects: list[Obj]) -> list[str]:
    found = []
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj["kind"] == "Ingress":
            covered = {h for t in spec.get("tls", []) for h in t.get("hosts", [])}
            for rule in spec.get("rules", []):
                if rule.get("host") not in covered:
                    found.append(f"{describe(obj)}: host {rule.get('host')} is served without TLS")
        annotations = obj["metadata"].get("annotations") or {}
        load_balancer = obj["kind"] == "Service" and spec.get("type") == "LoadBalancer"
        if load_balancer and _SSL_CERT not in annotations:
            found.append(f"{describe(obj)}: a public load balancer without {_SSL_CERT}")
    return found


def _plaintext_secrets(objects: list[Obj]) -> list[str]:
    found = []
    for obj in objects:
        for where, pod in pod_specs(obj):
            for container in pod.get("initContainers", []) + pod.get("containers", []):
                for env in container.get("env", []):
                    if _CREDENTIAL.search(env["name"]) and "value" in env:
                        found.append(
                            f"{where} container {container.get('name')}: {env['name']} "
                            "is a literal value; read it from a Secret (valueFrom)"
                        )
        if obj["kind"] == "ConfigMap":
            for key in obj.get("data") or {}:
                if _CREDENTIAL.search(key):
                    found.append(
                        f"{describe(obj)}: key {key} looks like a credential; use a Secret"
                    )
    return found


def images(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, reference) of every `image` field in an object."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                yield f"{path}.image".lstrip("."), item
            else:
                yield from images(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from images(item, f"{path}[{index}]")


def _pinned_images(objects: list[Obj]) -> list[str]:
    found = []
    for obj in objects:
        for path, image in images(obj):
            try:
                pinned_image(image)
            except ValueError as problem:
                found.append(f"{describe(obj)}: {path}: {problem}")
    return found


RULES = (
    Rule("min-three-zones", "Stateful workloads span at least 3 zones.", True, _zones),
    Rule("kafka-replication", "Topics keep 3 replicas and 2 in sync.", True, _replication),
    Rule(
        "stateful-disruption-budget",
        "Every stateful workload has a PDB.",
        True,
        _disruption_budgets,
    ),
    Rule(
        "requests-and-limits",
        "Every container has CPU and memory requests and limits.",
        False,
        _requests_and_limits,
    ),
    Rule("tls-public-endpoints", "No public endpoint without TLS.", False, _tls),
    Rule(
        "no-plaintext-secret",
        "Credentials come from Secrets, never literals.",
        False,
        _plaintext_secrets,
    ),
    Rule(
        "pinned-images",
        "Images are pinned and from maintained repositories.",
        False,
        _pinned_images,
    ),
)
