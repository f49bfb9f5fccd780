"""Requests against the node groups (rtap/render/capacity.py): the stacks fit, and a pod
too big for its group's nodes, or a group too small for its pods, is named with the key."""

from __future__ import annotations

from typing import Any

import pytest

from rtap.render.capacity import GIB, allocatable, capacity_errors, chart_pods
from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, STACKS, Render, render_once, with_changes


def test_a_node_gives_its_capacity_less_the_kubelets_reserve_and_the_daemonsets() -> None:
    cpu, memory = allocatable("m6i.large") or (0, 0)
    assert 1500 < cpu < 2000 and 6 * GIB < memory < 8 * GIB
    bigger = allocatable("r6i.2xlarge") or (0, 0)
    assert bigger[0] > 7000 and bigger[1] > 60 * GIB
    assert allocatable("x2iedn.xlarge") is None  # unknown here: not checked, not refused


@pytest.mark.parametrize("stack", STACKS)
def test_the_stacks_fit_their_node_groups(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    assert capacity_errors(result, result.settings) == []


def test_a_pod_larger_than_a_node_of_its_group_is_named_with_the_group() -> None:
    server = {"requests": {"cpu": "4", "memory": "2Gi"}, "limits": {"cpu": "4", "memory": "2Gi"}}
    result = render(PROJECT, "dev", with_changes("dev", clickhouseCluster={"server": server}))
    errors = capacity_errors(result, result.settings)
    assert errors, "a 4-CPU pod cannot run on an m6i.large"
    assert all(e.startswith("ClickHouseInstallation rtap/rtap podTemplate server-") for e in errors)
    assert "m6i.large node of rtap:cluster.nodeGroups.clickhouse" in errors[0]


def _dev_cluster(**pool_changes: object) -> dict[str, Any]:
    """dev's rtap:cluster keys with its spark pool changed (Pulumi.yaml's pool, merged)."""
    pool = render_once("dev").settings.cluster.spark_node_pool.model_dump(by_alias=True)
    return {"sparkNodePool": {**pool, **pool_changes}}


def test_sparks_memory_overhead_counts_against_the_node() -> None:
    # 11g fits a m6i.xlarge's 14.7 GiB; 11g plus PySpark's 40 % overhead does not, and the
    # pool has no larger type either.
    executor = {"instances": 1, "cores": 1, "memory": "11g"}
    cluster = _dev_cluster(instanceTypes=["m6i.xlarge"])
    result = render(
        PROJECT, "dev", with_changes("dev", spark={"executor": executor}, cluster=cluster)
    )
    (error,) = capacity_errors(result, result.settings)
    assert error.startswith(
        "SparkApplication rtap/rtap-streaming executor: a pod requests 1 CPU and 15.4 GiB"
    )
    assert "or any type of rtap:cluster.sparkNodePool" in error


def test_an_executor_too_big_for_the_group_fits_a_type_of_the_pool() -> None:
    executor = {"instances": 1, "cores": 1, "memory": "11g"}
    result = render(PROJECT, "dev", with_changes("dev", spark={"executor": executor}))
    assert capacity_errors(result, result.settings) == []


def test_executors_beyond_the_groups_need_the_pools_limits() -> None:
    # 8 executors of 3 cores: 24 CPU, more than dev's spark group nodes; the pool has room
    # for them until its CPU limit is cut.
    executor = {"instances": 8, "maxInstances": 8, "cores": 3, "memory": "4g"}
    fits = render(PROJECT, "dev", with_changes("dev", spark={"executor": executor}))
    assert capacity_errors(fits, fits.settings) == []
    cluster = _dev_cluster(cpuLimit=8)
    changed = with_changes("dev", spark={"executor": executor}, cluster=cluster)
    result = render(PROJECT, "dev", changed)
    (error,) = capacity_errors(result, result.settings)
    assert error.startswith("rtap:cluster.nodeGroups.spark.desiredPerZone: its pods request")
    assert "with rtap:cluster.sparkNodePool's 8 CPU" in error


def test_a_group_whose_nodes_cannot_hold_its_pods_names_desired_per_zone() -> None:
    # Each broker fits a node; nine of them and the controllers do not fit 2 x 3 nodes.
    broker = {
        "requests": {"cpu": "1200m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    result = render(
        PROJECT, "dev", with_changes("dev", kafkaCluster={"brokers": 9, "broker": broker})
    )
    (error,) = capacity_errors(result, result.settings)
    assert error.startswith(
        "rtap:cluster.nodeGroups.kafka.desiredPerZone: its pods request 11.1 CPU"
    )


def test_the_charts_pods_count_against_the_general_nodes(rendered: Render) -> None:
    pods = {p.where: p for r in rendered("dev").helm_releases for p in chart_pods(r)}
    # The chart's replicas are read beside or above the resources they size.
    karpenter = pods["Helm release karpenter controller.resources"]
    assert (karpenter.role, karpenter.count, karpenter.cpu_millis) == ("general", 2, 1000)
    assert pods["Helm release kube-prometheus-stack prometheus.prometheusSpec.resources"].count == 2
    # The node exporter is a DaemonSet: counted on every node, not as pods of a group.
    assert not any("node-exporter" in where for where in pods)
    # dev's operators, monitoring and autoscalers need more than one t3.large per zone.
    general = {"instanceType": "t3.large", "minPerZone": 1, "desiredPerZone": 1}
    groups = dict(rendered("dev").settings.cluster.node_groups.model_dump(by_alias=True))
    groups["general"] = {**groups["general"], **general}
    result = render(PROJECT, "dev", with_changes("dev", cluster={"nodeGroups": groups}))
    (error,) = capacity_errors(result, result.settings)
    assert error.startswith("rtap:cluster.nodeGroups.general.desiredPerZone: its pods request")
    assert error.endswith("raise desiredPerZone or use a larger instanceType")
