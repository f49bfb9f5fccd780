"""Monitoring: kube-prometheus-stack (the Prometheus operator, Prometheus, Alertmanager
and Grafana), rtap's alert rules as a PrometheusRule, and a monitor for every component.

kube-prometheus-stack's Prometheus selects rules and monitors by the label
`release: <release name>` and silently ignores the rest (prometheus-community/helm-charts#3648).
The chart's own monitors (the kubelet's, kube-state-metrics', node-exporter's) and rules
carry that label, so rtap keeps that selector, writes it out explicitly in the values,
and puts the same label (SELECTED) on every rule and monitor it declares; a test holds
the selectors and the labels together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components import clickhouse, kafka, redis, serving, spark
from infra.components import k8s as kube
from infra.monitoring.dashboards import dashboards
from infra.monitoring.rules import rendered_rules
from infra.settings import MonitoringSettings
from workloads.settings import WorkloadSettings
from workloads.streaming.exporter import DRIVER_METRICS_PORT

NAMESPACE = "monitoring"
CHART = "kube-prometheus-stack"
CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
# Its CRDs' folder in infra/upstream-crds (the program declares them: crds.py).
CRDS = "kube-prometheus-stack"
RELEASE = "kube-prometheus-stack"
SELECTED = {"release": RELEASE}
# Grafana's sidecar loads dashboards from ConfigMaps with this label, in any namespace.
DASHBOARD_LABEL = "grafana_dashboard"
_MONITORING = "monitoring.coreos.com/v1"
# The chart names Prometheus' Service after the release (`<release>-prometheus`).
PROMETHEUS_URL = f"http://{RELEASE}-prometheus.{NAMESPACE}.svc:9090"


@dataclass(frozen=True)
class MonitoringArgs:
    """rtap:monitoring, and the workload sections the alert rules derive from (`sla`)."""

    placement: kube.Placement
    monitoring: MonitoringSettings
    workloads: WorkloadSettings


@dataclass(frozen=True)
class Target:
    """One component's metrics: the pods, the port (by name or number) and the job name
    the alert rules use."""

    job: str
    pods: dict[str, str]
    port: str | int
    path: str = "/metrics"
    # Labels the pods must carry, whatever their value.
    having: tuple[str, ...] = ()


def targets() -> list[Target]:
    return [
        # The node pools' pods (brokers and controllers) only: Strimzi puts
        # strimzi.io/kind: Kafka on the exporter's, entity operator's and Cruise Control's
        # pods too, and only a node pool's pods carry strimzi.io/pool-name.
        Target(
            "kafka",
            {"strimzi.io/cluster": kafka.CLUSTER, "strimzi.io/kind": "Kafka"},
            "tcp-prometheus",
            having=("strimzi.io/pool-name",),
        ),
        Target("kafka-exporter", {"strimzi.io/name": "rtap-kafka-exporter"}, "tcp-prometheus"),
        Target(
            "clickhouse",
            {"clickhouse.altinity.com/chi": clickhouse.INSTALLATION},
            clickhouse.METRICS_PORT,
        ),
        Target(
            "clickhouse-keeper",
            {"clickhouse-keeper.altinity.com/chk": clickhouse.KEEPER},
            clickhouse.KEEPER_METRICS_PORT,
        ),
        Target("redis", redis.pod_labels(), "metrics"),
        Target("rtap-api", kube.selector(serving.NAME), "http"),
        Target(
            "streaming",
            {"spark-role": "driver", "sparkoperator.k8s.io/app-name": spark.APPLICATION},
            DRIVER_METRICS_PORT,
        ),
    ]


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rtap:monitoring:Monitoring", name, None, opts)
        s = args.monitoring
        self.release = kube.operator_release(
            RELEASE,
            kube.Chart(CHART, CHART_REPOSITORY, s.chart_version, CRDS),
            NAMESPACE,
            chart_values(args),
            self,
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        namespace = args.placement.namespace
        self.rules = kube.custom_resource(
            "rtap-rules",
            api_version=_MONITORING,
            kind="PrometheusRule",
            metadata=_metadata("rtap-rules", namespace),
            spec=rendered_rules(args.workloads),
            opts=after,
        )
        self.monitors = [
            kube.custom_resource(
                f"monitor-{target.job}",
                api_version=_MONITORING,
                kind="PodMonitor",
                metadata=_metadata(target.job, namespace),
                spec=pod_monitor_spec(target),
                opts=after,
            )
            for target in targets()
        ]
        self.dashboards = [
            k8s.core.v1.ConfigMap(
                f"dashboard-{dashboard.uid}",
                metadata=_dashboard_metadata(dashboard.uid, namespace),
                data={f"{dashboard.uid}.json": json.dumps(dashboard.json(), indent=1)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for dashboard in dashboards(args.workloads)
        ]
        self.register_outputs({"namespace": NAMESPACE, "monitors": [t.job for t in targets()]})


def _dashboard_metadata(name: str, namespace: str) -> kube.Json:
    meta = kube.metadata(name, namespace, "dashboard")
    meta["labels"][DASHBOARD_LABEL] = "1"
    return meta


def _metadata(name: str, namespace: str) -> kube.Json:
    meta = kube.metadata(name, namespace, "monitoring")
    meta["labels"].update(SELECTED)
    return meta


def pod_monitor_spec(target: Target) -> kube.Json:
    endpoint: dict[str, Any] = {
        "path": target.path,
        # The rules name components by job; without this it would be <namespace>/<monitor>.
        "relabelings": [{"targetLabel": "job", "replacement": target.job, "action": "replace"}],
    }
    if isinstance(target.port, int):
        endpoint["portNumber"] = target.port
    else:
        endpoint["port"] = target.port
    selector: kube.Json = {"matchLabels": target.pods}
    if target.having:
        selector["matchExpressions"] = [
            {"key": label, "operator": "Exists"} for label in target.having
        ]
    return {"selector": selector, "podMetricsEndpoints": [endpoint]}


def chart_values(args: MonitoringArgs) -> kube.Json:
    s, placement = args.monitoring, args.placement
    everywhere: kube.Json = {}
    prometheus_spec = {
        "replicas": s.prometheus_replicas,
        "retention": f"{s.retention_days}d",
        "resources": kube.container_resources(s.prometheus),
        "ruleSelector": {"matchLabels": SELECTED},
        "podMonitorSelector": {"matchLabels": SELECTED},
        "serviceMonitorSelector": {"matchLabels": SELECTED},
        "ruleNamespaceSelector": everywhere,
        "podMonitorNamespaceSelector": everywhere,
        "serviceMonitorNamespaceSelector": everywhere,
        "topologySpreadConstraints": kube.zone_spread({"app.kubernetes.io/name": "prometheus"}),
        "storageSpec": {
            "volumeClaimTemplate": {
                "spec": {
                    "storageClassName": placement.storage_class,
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": f"{s.storage_gib}Gi"}},
                }
            }
        },
    }
    small = kube.size("50m", "128Mi", "200m", "128Mi")
    return {
        # The program declares the CRDs (crds.py); the chart's subchart must not.
        "crds": {"enabled": False},
        "prometheus": {"prometheusSpec": prometheus_spec},
        "prometheusOperator": {
            "resources": kube.size("100m", "256Mi", "500m", "256Mi"),
            "admissionWebhooks": {"patch": {"resources": small}},
        },
        # As many Alertmanagers as Prometheus replicas: they deduplicate what both send.
        "alertmanager": {
            "alertmanagerSpec": {"replicas": s.prometheus_replicas, "resources": small}
        },
        "kube-state-metrics": {"resources": kube.size("50m", "128Mi", "200m", "256Mi")},
        "prometheus-node-exporter": {"resources": kube.size("50m", "64Mi", "200m", "64Mi")},
        "grafana": {
            "resources": kube.size("100m", "256Mi", "500m", "256Mi"),
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
        },
    }
