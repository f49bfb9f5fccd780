"""The API scales through KEDA on CPU (metrics-server) and requests per second
(Prometheus); the autoscalers' charts install no CRDs of their own."""

from __future__ import annotations

import pytest

from infra.components.monitoring import PROMETHEUS_URL
from infra.components.serving import NAME
from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, STACKS, Render, of_kind, with_changes
from workloads import telemetry as t


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_scales_on_cpu_and_requests_per_second(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    # KEDA owns the API's HPA: a second one would fight it.
    assert of_kind(result, "HorizontalPodAutoscaler") == []
    (scaled,) = of_kind(result, "ScaledObject")
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == NAME
    cpu, requests = spec["triggers"]
    assert (cpu["type"], cpu["metricType"]) == ("cpu", "Utilization")
    assert requests["type"] == "prometheus"
    assert requests["metadata"]["serverAddress"] == PROMETHEUS_URL
    query = requests["metadata"]["query"]
    assert f"{t.HTTP_REQUEST_DURATION}_count" in query and f'job="{NAME}"' in query
    assert spec["minReplicaCount"] <= spec["maxReplicaCount"]


def test_the_request_target_comes_from_the_stack_config() -> None:
    changed = with_changes("dev", servingDeployment={"requestsPerSecondPerReplica": 750})
    (scaled,) = of_kind(render(PROJECT, "dev", changed), "ScaledObject")
    assert scaled["spec"]["triggers"][1]["metadata"]["threshold"] == "750"


def test_keda_and_metrics_server_are_installed_without_chart_crds(rendered: Render) -> None:
    releases = {r["name"]: r for r in rendered("prod").helm_releases}
    assert releases["keda"]["values"]["crds"] == {"install": False}
    assert releases["keda"]["skipCrds"] is True
    assert releases["metrics-server"]["namespace"] == "kube-system"
