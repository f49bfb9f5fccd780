"""The platform namespace's NetworkPolicies (infra/components/network_policies.py), read
the way Kubernetes reads them, against the pods the rendered workloads make: every
selector matches pods, the components that talk to each other may, and the rest may not."""

from __future__ import annotations

from typing import Any

import pytest

from rtap.render.program import Rendered
from tests.unit.infra.conftest import STACKS, Render, of_kind

Labels = dict[str, str]


def _pod_labels(result: Rendered) -> dict[str, Labels]:
    """Each workload's pod labels, by the workload's name."""
    found: dict[str, Labels] = {}
    for obj in result.manifests:
        spec = obj.get("spec") or {}
        if obj["kind"] in {"Deployment", "StatefulSet", "Job"}:
            found[obj["metadata"]["name"]] = spec["template"]["metadata"]["labels"]
        elif obj["kind"] == "SparkApplication":
            found["streaming-driver"] = spec["driver"]["labels"]
            found["streaming-executor"] = spec["executor"]["labels"]
        elif obj["kind"] in {"ClickHouseInstallation", "ClickHouseKeeperInstallation"}:
            for template in spec["templates"]["podTemplates"]:
                found[f"{obj['kind']}/{template['name']}"] = template["metadata"]["labels"]
    return found


def _selects(selector: dict[str, Any], labels: Labels) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(peer: dict[str, Any], labels: Labels, namespace: str, own: str) -> bool:
    if "namespaceSelector" in peer:
        wanted = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        return bool(namespace == wanted)
    return namespace == own and _selects(peer["podSelector"], labels)


def allowed(result: Rendered, source: tuple[Labels, str], target: Labels, port: int) -> bool:
    """Whether a pod (labels, namespace) may open `port` on a pod of rtap's namespace."""
    source_labels, source_namespace = source
    selecting = [
        p for p in of_kind(result, "NetworkPolicy") if _selects(p["spec"]["podSelector"], target)
    ]
    assert selecting, "the default deny selects every pod"
    own = selecting[0]["metadata"]["namespace"]
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            ports = [p["port"] for p in rule.get("ports", [])]
            if (
                peers is None
                or any(_peer_matches(peer, source_labels, source_namespace, own) for peer in peers)
            ) and (not ports or port in ports):
                return True
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_every_selector_matches_pods_of_a_workload(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    pods = list(_pod_labels(result).values())
    policies = of_kind(result, "NetworkPolicy")
    # The deny selects every pod and allows nothing; allow-monitoring selects every pod
    # too, but only for Prometheus' namespace.
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert [p["spec"]["policyTypes"] for p in deny] == [["Ingress"]]
    for policy in policies:
        name = policy["metadata"]["name"]
        assert any(_selects(policy["spec"]["podSelector"], pod) for pod in pods), name
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if peer.get("podSelector"):
                    assert any(_selects(peer["podSelector"], pod) for pod in pods), (name, peer)


@pytest.mark.parametrize(
    ("source", "target", "port", "expected"),
    [
        ("rtap-api", "ClickHouseInstallation/server-us-east-1a", 8123, True),
        ("rtap-api", "redis", 26379, True),
        ("rtap-api", "redis", 6379, True),
        ("streaming-driver", "ClickHouseInstallation/server-us-east-1b", 8123, True),
        ("streaming-executor", "redis", 6379, True),
        ("streaming-executor", "streaming-driver", 7078, True),
        ("clickhouse-migrations", "ClickHouseInstallation/server-us-east-1a", 8123, True),
        ("redis", "redis", 26379, True),
        (
            "ClickHouseInstallation/server-us-east-1a",
            "ClickHouseKeeperInstallation/keeper",
            2181,
            True,
        ),
        ("ClickHouseKeeperInstallation/keeper", "ClickHouseKeeperInstallation/keeper", 9444, True),
        # Nothing else reaches the data stores: not the API to Keeper, not Redis to
        # ClickHouse, not the registry to Redis, not the migrations to Redis.
        ("rtap-api", "ClickHouseKeeperInstallation/keeper", 2181, False),
        ("redis", "ClickHouseInstallation/server-us-east-1a", 8123, False),
        ("schema-registry", "redis", 6379, False),
        ("clickhouse-migrations", "redis", 6379, False),
        ("rtap-api", "streaming-driver", 7078, False),
        ("rtap-api", "redis", 9121, False),
    ],
)
def test_who_may_talk_to_whom(
    rendered: Render, source: str, target: str, port: int, expected: bool
) -> None:
    result = rendered("prod")
    pods = _pod_labels(result)
    namespace = result.settings.cluster.namespace
    assert allowed(result, (pods[source], namespace), pods[target], port) is expected


def test_the_api_takes_connections_from_anywhere_and_the_operator_reaches_clickhouse(
    rendered: Render,
) -> None:
    result = rendered("prod")
    pods = _pod_labels(result)
    anywhere = ({"app": "load-balancer"}, "kube-system")
    assert allowed(result, anywhere, pods["rtap-api"], 8080)
    assert not allowed(result, anywhere, pods["redis"], 6379)
    operator = ({"app": "clickhouse-operator"}, "clickhouse-operator")
    assert allowed(result, operator, pods["ClickHouseInstallation/server-us-east-1a"], 8123)
    assert not allowed(result, operator, pods["redis"], 6379)
