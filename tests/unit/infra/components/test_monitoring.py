"""The monitoring the program declares: kube-prometheus-stack selects exactly rtap's
rules and monitors, the rules are the stack's, and every component has a monitor."""

from __future__ import annotations

import json

import pytest

from core.stack_config import load_stack
from infra.components.monitoring import DASHBOARD_LABEL, SELECTED, targets
from infra.monitoring.rules import rendered_rules
from infra.settings import StackSettings
from tests.unit.infra.conftest import PROJECT, STACKS, Render, of_kind


def _release(rendered: Render, stack: str) -> dict[str, object]:
    (release,) = [r for r in rendered(stack).helm_releases if r["name"] == "kube-prometheus-stack"]
    return release


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_selects_every_rule_and_monitor_the_program_declares(
    rendered: Render, stack: str
) -> None:
    values = _release(rendered, stack)["values"]
    spec = values["prometheus"]["prometheusSpec"]  # type: ignore[index]
    result = rendered(stack)
    declared = of_kind(result, "PrometheusRule") + of_kind(result, "PodMonitor")
    assert len(declared) == 1 + len(targets())
    for kind, selector in (
        ("PrometheusRule", "ruleSelector"),
        ("PodMonitor", "podMonitorSelector"),
    ):
        wanted = spec[selector]["matchLabels"]
        assert wanted == SELECTED
        for obj in of_kind(result, kind):
            labels = obj["metadata"]["labels"]
            assert all(labels.get(k) == v for k, v in wanted.items()), obj["metadata"]["name"]
        # In any namespace: rtap's are in the platform's, Prometheus in `monitoring`.
        assert spec[selector.replace("Selector", "NamespaceSelector")] == {}
    # The label the chart puts on its own monitors and rules (its Release's name), so
    # that the selectors leave the kubelet's and kube-state-metrics' monitors selected.
    assert {"release": _release(rendered, stack)["name"]} == SELECTED


@pytest.mark.parametrize("stack", STACKS)
def test_the_prometheus_rule_holds_the_stacks_own_rules(rendered: Render, stack: str) -> None:
    (rule,) = of_kind(rendered(stack), "PrometheusRule")
    settings = load_stack(StackSettings, stack, PROJECT)
    assert rule["spec"] == rendered_rules(settings)


def test_every_component_is_scraped_under_the_job_its_alerts_name(rendered: Render) -> None:
    monitors = {m["metadata"]["name"]: m for m in of_kind(rendered("prod"), "PodMonitor")}
    assert set(monitors) == {
        "kafka",
        "kafka-exporter",
        "clickhouse",
        "clickhouse-keeper",
        "redis",
        "rtap-api",
        "streaming",
    }
    for name, monitor in monitors.items():
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        assert endpoint["relabelings"][0] == {
            "targetLabel": "job",
            "replacement": name,
            "action": "replace",
        }
    # The kafka job is the node pools' pods only: Strimzi's exporter, entity operator and
    # Cruise Control pods carry strimzi.io/kind: Kafka too, but no pool name.
    kafka = monitors["kafka"]["spec"]["selector"]
    assert kafka["matchLabels"]["strimzi.io/kind"] == "Kafka"
    assert kafka["matchExpressions"] == [{"key": "strimzi.io/pool-name", "operator": "Exists"}]
    for pool in of_kind(rendered("prod"), "KafkaNodePool"):
        assert (
            pool["metadata"]["labels"]["strimzi.io/cluster"]
            == kafka["matchLabels"]["strimzi.io/cluster"]
        )
    assert "matchExpressions" not in monitors["kafka-exporter"]["spec"]["selector"]
    # ClickHouse and Keeper serve their own endpoints on the ports the monitors scrape.
    (installation,) = of_kind(rendered("prod"), "ClickHouseInstallation")
    (keeper,) = of_kind(rendered("prod"), "ClickHouseKeeperInstallation")
    assert (
        installation["spec"]["configuration"]["settings"]["prometheus/port"]
        == (monitors["clickhouse"]["spec"]["podMetricsEndpoints"][0]["portNumber"])
    )
    assert (
        keeper["spec"]["configuration"]["settings"]["prometheus/port"]
        == (monitors["clickhouse-keeper"]["spec"]["podMetricsEndpoints"][0]["portNumber"])
    )


def test_the_chart_installs_no_crds_of_its_own(rendered: Render) -> None:
    release = _release(rendered, "prod")
    assert release["skipCrds"] is True
    assert release["values"]["crds"] == {"enabled": False}  # type: ignore[index]


def test_the_dashboards_are_provisioned_for_grafanas_sidecar(rendered: Render) -> None:
    maps = [
        m
        for m in of_kind(rendered("prod"), "ConfigMap")
        if DASHBOARD_LABEL in m["metadata"]["labels"]
    ]
    assert {m["metadata"]["name"] for m in maps} == {
        "rtap-pipeline",
        "rtap-kafka",
        "rtap-clickhouse",
        "rtap-api",
    }
    for config_map in maps:
        ((_, text),) = config_map["data"].items()
        dashboard = json.loads(text)
        assert dashboard["panels"], dashboard["uid"]
        for panel in dashboard["panels"]:
            assert panel["targets"] and all(target["expr"] for target in panel["targets"])
