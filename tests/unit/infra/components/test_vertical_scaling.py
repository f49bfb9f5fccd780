"""VPAs (infra/components/vertical_scaling.py): recommendations for the stateful
workloads, resizing for the stateless ones, each aimed at a controller that exists."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.clickhouse import vertical_targets
from infra.components.vertical_scaling import scaled
from rtap.render.program import render
from tests.unit.infra.conftest import (
    PROJECT,
    STACKS,
    Render,
    of_kind,
    render_once,
    with_changes,
)


def _vpas(result: Any) -> dict[str, dict[str, Any]]:
    return {v["metadata"]["name"]: v["spec"] for v in of_kind(result, "VerticalPodAutoscaler")}


@pytest.mark.parametrize("stack", STACKS)
def test_every_stateful_workload_gets_recommendations_only(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    vpas = _vpas(result)
    pools = [p["metadata"]["name"] for p in of_kind(result, "KafkaNodePool")]
    (redis,) = of_kind(result, "StatefulSet")
    stateful = [*pools, redis["metadata"]["name"]]
    for name in stateful:
        assert vpas[name]["updatePolicy"] == {"updateMode": "Off"}, name
    assert {vpas[p]["targetRef"]["kind"] for p in pools} == {"KafkaNodePool"}
    (chi,) = of_kind(result, "ClickHouseInstallation")
    layout = chi["spec"]["configuration"]["clusters"][0]["layout"]
    servers = [n for n in vpas if n.startswith("chi-")]
    assert len(servers) == layout["shardsCount"] * layout["replicasCount"]
    assert all(vpas[n]["updatePolicy"]["updateMode"] == "Off" for n in servers)
    (chk,) = of_kind(result, "ClickHouseKeeperInstallation")
    keepers = [n for n in vpas if n.startswith("chk-")]
    assert len(keepers) == chk["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"]


@pytest.mark.parametrize("stack", STACKS)
def test_stateless_workloads_are_resized_between_their_stack_sizes(
    rendered: Render, stack: str
) -> None:
    result = rendered(stack)
    vpas = _vpas(result)
    deployments = {d["metadata"]["name"]: d for d in of_kind(result, "Deployment")}
    assert {n for n, v in vpas.items() if v["updatePolicy"]["updateMode"] != "Off"} == set(
        deployments
    )
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (policy,) = vpas[name]["resourcePolicy"]["containerPolicies"]
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert vpas[name]["targetRef"] == target
        for resource in policy["controlledResources"]:
            assert policy["minAllowed"][resource] == container["resources"]["requests"][resource]
            limit = container["resources"]["limits"][resource]
            assert policy["maxAllowed"][resource] == scaled(limit, 2)
    # KEDA scales the API out on CPU; a VPA on CPU too would fight it.
    (api_policy,) = vpas["rtap-api"]["resourcePolicy"]["containerPolicies"]
    assert api_policy["controlledResources"] == ["memory"]


def test_the_clickhouse_targets_follow_the_layout() -> None:
    changed = with_changes("dev", clickhouseCluster={"shards": 3, "replicas": 2})
    vpas = _vpas(render(PROJECT, "dev", changed))
    assert sorted(n for n in vpas if n.startswith("chi-")) == [
        f"chi-rtap-rtap-{shard}-{replica}" for shard in range(3) for replica in range(2)
    ]


def test_the_clickhouse_target_names_are_the_operators() -> None:
    # Altinity's namer: chi-{chi}-{cluster}-{shard}-{replica} and chk-{chk}-{cluster}-….
    names = [t.name for t in vertical_targets(render_once("dev").settings.clickhouse_cluster)]
    assert "chi-rtap-rtap-0-0" in names and "chk-rtap-keeper-keeper-0-0" in names


@pytest.mark.parametrize(
    ("quantity", "doubled"),
    [("512Mi", "1024Mi"), ("1Gi", "2Gi"), ("500m", "1000m"), ("2", "4"), ("1.5", "3")],
)
def test_a_quantity_is_scaled_in_its_own_unit(quantity: str, doubled: str) -> None:
    assert scaled(quantity, 2) == doubled


def test_the_vpa_controllers_come_with_the_pinned_crds(rendered: Render) -> None:
    result = rendered("prod")
    releases = {r["name"]: r for r in result.helm_releases}
    assert releases["vertical-pod-autoscaler"]["version"] == "0.11.0"
    assert releases["vertical-pod-autoscaler"]["skipCrds"] is True
    crds = {c["metadata"]["name"] for c in of_kind(result, "CustomResourceDefinition")}
    assert "verticalpodautoscalers.autoscaling.k8s.io" in crds
