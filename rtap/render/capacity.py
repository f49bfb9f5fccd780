"""Whether the pods the program asks for fit the node groups they must run on (eks mode).

A pod whose requests exceed what one node of its group can give stays Pending forever;
pods whose requests add up to more than the group's nodes never all run: nothing scales
the managed groups, so that is desiredPerZone nodes in each zone, and for the spark role
whatever Karpenter's pool may add within its limits. Both are
invisible to every schema. A node gives its capacity less what the EKS AMI reserves for
the kubelet (its kube-reserved formula) and the eviction threshold, and less what the
DaemonSets on every node (VPC CNI, kube-proxy, the EBS CSI node) request.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from infra.components.k8s import ROLE_LABEL
from infra.components.karpenter import SPARK_POOL
from infra.policies import describe
from infra.settings import NodeGroupSettings, NodePoolSettings, StackSettings
from rtap.render.program import Rendered

MIB = 1024**2
GIB = 1024**3
# vCPUs by size, and memory per vCPU by family letter (m general, c compute, r memory,
# t burstable), as EC2's m/c/r/t families from generation 5 on are built.
_VCPUS = {"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32}
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8, "t": 4}
# The VPC CNI's pods per node (ENIs x addresses) by vCPUs, which the AMI reserves memory for.
_MAX_PODS = {1: 17, 2: 29, 4: 58, 8: 58, 16: 234, 32: 234}
_EVICTION_HARD = 100 * MIB
# The VPC CNI, kube-proxy and the EBS CSI node, plus kube-prometheus-stack's node exporter
# (50m, 64Mi, as monitoring.py sizes it): millicores, bytes on every node.
_DAEMONSETS = (250, 364 * MIB)
# Chart values blocks whose pods are a DaemonSet, counted per node above.
_PER_NODE = frozenset({"prometheus-node-exporter"})
# Where a chart's values give a component's pod count.
_REPLICA_KEYS = ("replicas", "replicaCount")
# Spark's default memory overhead of a Python application's pods, and its floor.
_PYSPARK_OVERHEAD = 0.4
_OVERHEAD_FLOOR = 384 * MIB


@dataclass(frozen=True)
class Pod:
    where: str
    role: str
    cpu_millis: int
    memory_bytes: int
    count: int


def allocatable(instance_type: str) -> tuple[int, int] | None:
    """(millicores, bytes) a node gives to pods; None for a type this table does not know."""
    match = re.fullmatch(r"([a-z])[0-9][a-z0-9]*(-flex)?\.([0-9]*x?large|medium)", instance_type)
    if not match or match[1] not in _GIB_PER_VCPU or match[3] not in _VCPUS:
        return None
    vcpus = _VCPUS[match[3]]
    max_pods = _MAX_PODS[vcpus]
    # kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the next two,
    # 0.25% of the rest.
    reserved_cpu = 60 + 10 * (vcpus > 1) + 5 * min(max(vcpus - 2, 0), 2) + 2.5 * max(vcpus - 4, 0)
    reserved_memory = (255 + 11 * max_pods) * MIB + _EVICTION_HARD
    cpu = int(vcpus * 1000 - reserved_cpu) - _DAEMONSETS[0]
    memory = vcpus * _GIB_PER_VCPU[match[1]] * GIB - reserved_memory - _DAEMONSETS[1]
    return cpu, memory


def capacity_errors(rendered: Rendered, settings: StackSettings) -> list[str]:
    if settings.cluster.mode != "eks":
        return []  # an existing cluster's nodes are not rtap's to know
    groups: dict[str, NodeGroupSettings] = dict(settings.cluster.node_groups)
    pool = settings.cluster.spark_node_pool
    errors: list[str] = []
    totals: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pod in role_pods(rendered):
        group = groups[pod.role]
        node = allocatable(group.instance_type)
        if node is None:
            continue
        made = _pool_nodes(pool) if pod.role == SPARK_POOL else []
        if not any(_holds(n, pod) for n in [node, *made]):
            key = f"rtap:cluster.nodeGroups.{pod.role}"
            also = " or any type of rtap:cluster.sparkNodePool" if made else ""
            errors.append(
                f"{pod.where}: a pod requests {_size(pod.cpu_millis, pod.memory_bytes)}, more "
                f"than one {group.instance_type} node of {key}{also} gives "
                f"({_size(*node)}); use a larger instanceType, or smaller requests"
            )
        totals[pod.role][0] += pod.cpu_millis * pod.count
        totals[pod.role][1] += pod.memory_bytes * pod.count
    zones = len(settings.cluster.zones)
    for role, (cpu, memory) in sorted(totals.items()):
        errors.extend(_group_total_error(role, groups[role], zones, (cpu, memory), pool))
    return errors


def _holds(node: tuple[int, int], pod: Pod) -> bool:
    return pod.cpu_millis <= node[0] and pod.memory_bytes <= node[1]


def _pool_nodes(pool: NodePoolSettings) -> list[tuple[int, int]]:
    return [n for n in (allocatable(t) for t in pool.instance_types) if n is not None]


def _group_total_error(
    role: str,
    group: NodeGroupSettings,
    zones: int,
    requested: tuple[int, int],
    pool: NodePoolSettings,
) -> list[str]:
    """The group's pods against its nodes: desiredPerZone of them in each zone, since
    nothing scales the managed groups; the spark role also has Karpenter's pool."""
    node = allocatable(group.instance_type)
    if node is None:
        return []
    cpu, memory = requested
    nodes = group.desired_per_zone * zones
    room = [node[0] * nodes, node[1] * nodes]
    extra, remedy = "", "raise desiredPerZone or use a larger instanceType"
    if role == SPARK_POOL:
        room[0] += pool.cpu_limit * 1000
        room[1] += _bytes(pool.memory_limit)
        extra = f", with rtap:cluster.sparkNodePool's {pool.cpu_limit} CPU and {pool.memory_limit}"
        remedy = "raise desiredPerZone or the pool's limits"
    if cpu <= room[0] and memory <= room[1]:
        return []
    return [
        f"rtap:cluster.nodeGroups.{role}.desiredPerZone: its pods request {_size(cpu, memory)} "
        f"in all, more than {group.desired_per_zone} x {zones} {group.instance_type} nodes "
        f"give{extra} ({_size(*room)}); nothing scales the node groups, so {remedy}"
    ]


def role_pods(rendered: Rendered) -> Iterator[Pod]:
    """Every pod template and the node group its selector or tolerations put it on, and
    the pods of the charts the program installs (chart_pods)."""
    for release in rendered.helm_releases:
        yield from chart_pods(release)
    for obj in rendered.manifests:
        kind, spec = obj["kind"], obj.get("spec") or {}
        if kind in {"Deployment", "StatefulSet", "Job"}:
            yield _pod(describe(obj), spec["template"]["spec"], spec.get("replicas", 1))
        elif kind in {"ClickHouseInstallation", "ClickHouseKeeperInstallation"}:
            for template in spec["templates"]["podTemplates"]:
                where = f"{describe(obj)} podTemplate {template['name']}"
                yield _pod(where, template["spec"], 1)
        elif kind == "KafkaNodePool":
            pod_spec = {**spec["template"]["pod"], "containers": [{"resources": spec["resources"]}]}
            yield _pod(describe(obj), pod_spec, spec["replicas"])
        elif kind == "SparkApplication":
            for role in ("driver", "executor"):
                yield _spark_pod(f"{describe(obj)} {role}", spec[role])


def chart_pods(release: dict[str, Any]) -> Iterator[Pod]:
    """The pods a chart's values size: every block with `resources.requests`, as many as
    the nearest `replicas` or `replicaCount` around it says (1 where none is set, as in
    the charts rtap installs), on the general nodes, which alone carry no role taint."""

    def walk(block: dict[str, Any], path: list[str], replicas: int) -> Iterator[Pod]:
        replicas = next(
            (int(block[k]) for k in _REPLICA_KEYS if isinstance(block.get(k), int)), replicas
        )
        requests = block.get("requests")
        if isinstance(requests, dict) and "cpu" in requests and not _PER_NODE & set(path):
            where = f"Helm release {release['name']} {'.'.join(path)}"
            pod_spec: dict[str, Any] = {
                "containers": [{"resources": {"requests": requests}}],
                "nodeSelector": release["values"].get("nodeSelector") or {},
            }
            yield _pod(where, pod_spec, replicas)
        for key, value in block.items():
            if isinstance(value, dict):
                yield from walk(value, [*path, key], replicas)

    yield from walk(release.get("values") or {}, [], 1)


def _pod(where: str, pod_spec: dict[str, Any], count: int) -> Pod:
    requests = [c.get("resources", {}).get("requests", {}) for c in pod_spec["containers"]]
    return Pod(
        where,
        _role(pod_spec),
        sum(_millicores(r.get("cpu", "0")) for r in requests),
        sum(_bytes(r.get("memory", "0")) for r in requests),
        count,
    )


def _spark_pod(where: str, spec: dict[str, Any]) -> Pod:
    memory = _bytes(spec["memory"])
    overhead = max(int(memory * _PYSPARK_OVERHEAD), _OVERHEAD_FLOOR)
    cpu = _millicores(str(spec.get("coreRequest", spec["cores"])))
    return Pod(where, _role(spec), cpu, memory + overhead, spec.get("instances", 1))


def _role(pod_spec: dict[str, Any]) -> str:
    selected = (pod_spec.get("nodeSelector") or {}).get(ROLE_LABEL)
    tolerated = [
        t["value"] for t in pod_spec.get("tolerations") or [] if t.get("key") == ROLE_LABEL
    ]
    return str(selected or (tolerated[0] if tolerated else "general"))


def _millicores(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


_UNITS = {"Ki": 1024, "Mi": MIB, "Gi": GIB, "Ti": 1024 * GIB, "k": 1024, "m": MIB, "g": GIB}


def _bytes(value: str) -> int:
    """A Kubernetes quantity (8Gi) or a JVM size (4g) in bytes."""
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", value)
    if not match:
        raise ValueError(f"{value!r} is not a memory size")
    return int(float(match[1]) * _UNITS.get(match[2], 1))


def _size(millicores: int, memory: int) -> str:
    return f"{millicores / 1000:g} CPU and {memory / GIB:.1f} GiB"
