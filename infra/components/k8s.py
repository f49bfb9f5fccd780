"""Pieces every Kubernetes component shares: labels, sizing, placement, budgets, secrets."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from core.handoff import SETTINGS_FILE_VARIABLE
from infra.components import crds
from infra.settings import ClusterSettings, StackSettings
from infra.sizes import Resources
from workloads.settings import WorkloadSettings

ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
# Nodes of a role carry this label and, except `general`, a NoSchedule taint of the same.
ROLE_LABEL = "rtap.dev/role"
PART_OF = "rtap"
Json = dict[str, Any]
# pulumi-kubernetes awaits built-in kinds, but a custom resource only when told what
# "ready" means (pulumi-kubernetes#3143): what each operator reports once a resource is
# ready for whatever depends on it. A KafkaUser is Ready once its Secret exists; a
# KafkaNodePool reports nothing of its own and is ready as part of its Kafka.
WAIT_FOR = "pulumi.com/waitFor"
READY_WHEN: dict[str, str] = {
    "Kafka": "condition=Ready",
    "KafkaTopic": "condition=Ready",
    "KafkaUser": "condition=Ready",
    "KafkaConnect": "condition=Ready",
    "ClickHouseKeeperInstallation": "jsonpath={.status.status}=Completed",
    "ClickHouseInstallation": "jsonpath={.status.status}=Completed",
    "SparkApplication": "jsonpath={.status.applicationState.state}=RUNNING",
    # Ready once Karpenter has resolved its AMIs, subnets, security groups and profile.
    "EC2NodeClass": "condition=Ready",
}
# A first Kafka or ClickHouse roll-out on new nodes outlasts the default of 10 minutes.
READY_TIMEOUT_S = 1800
# On the pod template of every ClickHouse client: the version of the users' passwords
# (clickhouse.credentials_version), so that rotating one rolls the pods that read it.
CLICKHOUSE_CREDENTIALS = "rtap.dev/clickhouse-credentials"
# Every workload reads the stack's settings from this ConfigMap, mounted as a file.
SETTINGS_CONFIG_MAP = "rtap-settings"
SETTINGS_DIR = "/etc/rtap/settings"
SETTINGS_KEY = "settings.json"


@dataclass(frozen=True)
class Placement:
    """Where a component's pods and volumes go, from rtap:cluster: the platform's
    namespace, the zones to spread over, the storage class, and whether the nodes carry
    role labels (eks mode builds a node group per role; an existing cluster may not)."""

    namespace: str
    zones: list[str]
    storage_class: str
    role_nodes: bool

    @classmethod
    def of(cls, cluster: ClusterSettings) -> Placement:
        return cls(
            namespace=cluster.namespace,
            zones=list(cluster.zones),
            storage_class=cluster.storage_class,
            role_nodes=cluster.mode == "eks",
        )


def custom_resource(
    resource_name: str,
    *,
    api_version: str,
    kind: str,
    metadata: Json,
    spec: Json,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A custom resource that Pulumi awaits until its operator reports it ready
    (READY_WHEN), so that what depends on it waits for more than its creation."""
    ready = READY_WHEN.get(kind)
    if ready is not None:
        annotations = {
            **metadata.get("annotations", {}),
            WAIT_FOR: ready,
            "pulumi.com/timeoutSeconds": str(READY_TIMEOUT_S),
        }
        metadata = {**metadata, "annotations": annotations}
    return k8s.apiextensions.CustomResource(
        resource_name, api_version=api_version, kind=kind, metadata=metadata, spec=spec, opts=opts
    )


def labels(name: str, component: str, version: str | None = None) -> dict[str, str]:
    """The recommended app.kubernetes.io labels; `name` doubles as the instance."""
    result = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }
    if version:
        result["app.kubernetes.io/version"] = version
    return result


def selector(name: str) -> dict[str, str]:
    """The stable subset of `labels` that pods are selected by."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}


def metadata(name: str, namespace: str, component: str, version: str | None = None) -> Json:
    return {"name": name, "namespace": namespace, "labels": labels(name, component, version)}


def container_resources(size: Resources) -> Json:
    return {
        "requests": {"cpu": size.requests.cpu, "memory": size.requests.memory},
        "limits": {"cpu": size.limits.cpu, "memory": size.limits.memory},
    }


def zone_spread(match_labels: Mapping[str, str]) -> list[Json]:
    """Evenly over zones (hard), then over nodes (soft): losing a zone loses 1/zones."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": ZONE_LABEL,
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": dict(match_labels)},
        },
        {
            "maxSkew": 1,
            "topologyKey": HOSTNAME_LABEL,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(match_labels)},
        },
    ]


def zone_affinity(zone: str) -> Json:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": [zone]}]}
                ]
            }
        }
    }


def role_tolerations(role: str) -> list[Json]:
    return [{"key": ROLE_LABEL, "operator": "Equal", "value": role, "effect": "NoSchedule"}]


def role_node_selector(placement: Placement, role: str) -> dict[str, str]:
    """Pin to the role's node group on EKS; an existing cluster may not label its nodes."""
    return {ROLE_LABEL: role} if placement.role_nodes else {}


def zone_slug(zone: str) -> str:
    """A zone name as it may appear in resource names (already DNS-safe on AWS)."""
    return zone.lower().replace("_", "-")


def disruption_budget(
    name: str, namespace: str, component: str, parent: pulumi.Resource, max_unavailable: int = 1
) -> k8s.policy.v1.PodDisruptionBudget:
    """Voluntary evictions (node drains, upgrades) take at most one pod at a time."""
    return k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb",
        metadata=metadata(f"{name}-pdb", namespace, component),
        spec={"maxUnavailable": max_unavailable, "selector": {"matchLabels": selector(name)}},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def generated_secret(
    name: str, namespace: str, component: str, keys: Sequence[str], parent: pulumi.Resource
) -> tuple[k8s.core.v1.Secret, dict[str, pulumi.Output[str]]]:
    """A Secret of random passwords. They live only in Pulumi's state (encrypted, as
    secret outputs) and in the cluster; `pulumi up --replace` on one rotates it."""
    values: dict[str, pulumi.Output[str]] = {}
    for key in keys:
        password = random.RandomPassword(
            f"{name}-{key}",
            length=40,
            special=False,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        values[key] = pulumi.Output.secret(password.result)
    secret = k8s.core.v1.Secret(
        name,
        metadata=metadata(name, namespace, component),
        type="Opaque",
        string_data=values,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret, values


def digest(values: Sequence[pulumi.Output[str] | str], prefix: str = "") -> pulumi.Output[str]:
    """A short name of `values` as they are now, changing when one does: for a pod template
    annotation that rolls the pods, or a custom resource field that makes its operator
    reconcile. A digest, not a secret, even when the values are secrets."""
    joined = pulumi.Output.all(*values).apply(
        lambda parts: prefix + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    )
    return pulumi.Output.unsecret(joined)


def restricted_container(read_only_root: bool = True) -> Json:
    """A container's part of the `restricted` Pod Security level (no privilege escalation,
    no capabilities, not root), with a read-only root filesystem unless the image writes."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
    }


# The pod's part of the `restricted` level: the runtime's default seccomp profile.
RESTRICTED_POD: Json = {"seccompProfile": {"type": "RuntimeDefault"}}


def secret_env(variable: str, secret_name: str, key: str) -> Json:
    return {
        "name": variable,
        "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}},
    }


def size(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Json:
    """Requests and limits of a helper container whose size no stack needs to tune."""
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def image_tag(image: str) -> str:
    """The version part of a pinned image reference (the tag, or the digest's hex)."""
    if "@" in image:
        return image.rsplit(":", 1)[-1][:12]
    return image.rsplit(":", 1)[-1]


def workload_settings_json(settings: StackSettings) -> str:
    """The workload sections as the containers read them (workloads/settings.py):
    migrations run ON CLUSTER, and API queries use every core of a ClickHouse server."""
    values = settings.workload_part().model_dump()
    values["clickhouse"]["cluster"] = settings.clickhouse_cluster.cluster_name
    values["serving"]["clickhouse_max_threads"] = 0
    return WorkloadSettings.model_validate(values).model_dump_json(by_alias=True)


def settings_mount() -> tuple[Json, Json, Json]:
    """(env variable, volume, volume mount) that give a container the stack settings."""
    return (
        {"name": SETTINGS_FILE_VARIABLE, "value": f"{SETTINGS_DIR}/{SETTINGS_KEY}"},
        {"name": "settings", "configMap": {"name": SETTINGS_CONFIG_MAP}},
        {"name": "settings", "mountPath": SETTINGS_DIR, "readOnly": True},
    )


@dataclass(frozen=True)
class Chart:
    """An operator's Helm chart: where it comes from, the version the stack pins, and
    the name of its CRDs' folder in infra/upstream-crds (`<crds>-<version>`; None: no CRDs)."""

    name: str
    # None for a chart named by an oci:// reference, which carries its registry.
    repository: str | None
    version: str
    crds: str | None


def operator_release(
    name: str, chart: Chart, namespace: str, values: Json, parent: pulumi.Resource
) -> k8s.helm.v3.Release:
    """An operator installed from its chart into a namespace of its own, after its CRDs
    (if it has any), which the program declares (crds.py) so that an upgrade upgrades
    them too."""
    definitions = (
        crds.declare(chart.crds, chart.version, labels(chart.crds, "crd", chart.version), parent)
        if chart.crds
        else []
    )
    return k8s.helm.v3.Release(
        name,
        name=name,
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repository} if chart.repository else None,
        namespace=namespace,
        create_namespace=True,
        skip_crds=True,
        values=values,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=definitions),
    )
