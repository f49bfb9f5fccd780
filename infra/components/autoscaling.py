"""The autoscalers: metrics-server, without which no HPA can read a pod's CPU; KEDA,
which scales the API on CPU and on the requests per second Prometheus counts; and the
Vertical Pod Autoscaler's controllers, for the VPAs of vertical_scaling.py.

The streaming job is scaled by none of them: a SparkApplication has no /scale
subresource and its lag is visible to no Kafka tool, so its driver scales its executors
on its own lag (docs/operations.md, "Scaling the streaming job on lag").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.settings import AutoscalingSettings

KEDA_NAMESPACE = "keda"
KEDA_CHART = "keda"
KEDA_REPOSITORY = "https://kedacore.github.io/charts"
# Its CRDs' folder in infra/upstream-crds (the program declares them: crds.py).
KEDA_CRDS = "keda"
VPA_CHART = "vertical-pod-autoscaler"
VPA_REPOSITORY = "https://kubernetes.github.io/autoscaler"
VPA_CRDS = "vertical-pod-autoscaler"
VPA_NAMESPACE = "kube-system"
METRICS_SERVER_CHART = "metrics-server"
METRICS_SERVER_REPOSITORY = "https://kubernetes-sigs.github.io/metrics-server/"


@dataclass(frozen=True)
class AutoscalingArgs:
    """rtap:autoscaling (the charts' versions)."""

    autoscaling: AutoscalingSettings


class Autoscalers(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rtap:autoscaling:Autoscalers", name, None, opts)
        s = args.autoscaling
        self.metrics_server = kube.operator_release(
            "metrics-server",
            kube.Chart(
                METRICS_SERVER_CHART,
                METRICS_SERVER_REPOSITORY,
                s.metrics_server_chart_version,
                None,
            ),
            "kube-system",
            {"replicas": 2, "resources": kube.size("100m", "200Mi", "500m", "200Mi")},
            self,
        )
        small = kube.size("100m", "128Mi", "500m", "512Mi")
        self.keda: k8s.helm.v3.Release = kube.operator_release(
            "keda",
            kube.Chart(KEDA_CHART, KEDA_REPOSITORY, s.keda_chart_version, KEDA_CRDS),
            KEDA_NAMESPACE,
            {
                # The chart installs its CRDs from templates, which skipCrds does not stop.
                "crds": {"install": False},
                "resources": {"operator": small, "metricServer": small, "webhooks": small},
            },
            self,
        )
        self.vpa = kube.operator_release(
            "vertical-pod-autoscaler",
            kube.Chart(VPA_CHART, VPA_REPOSITORY, s.vpa_chart_version, VPA_CRDS),
            VPA_NAMESPACE,
            _vpa_values(),
            self,
        )
        self.register_outputs({"keda": s.keda_chart_version, "vpa": s.vpa_chart_version})


def _vpa_values() -> kube.Json:
    """Two replicas of each controller (the chart's default, with its disruption budgets),
    sized; the recommender reads pod usage from metrics-server. The admission
    controller's certificate comes from the chart's certgen Job."""
    controller = {"replicas": 2, "resources": kube.size("50m", "128Mi", "500m", "512Mi")}
    return {
        "recommender": {**controller, "resources": kube.size("100m", "256Mi", "1", "1Gi")},
        "updater": controller,
        "admissionController": {
            **controller,
            "certGen": {"resources": kube.size("50m", "64Mi", "200m", "64Mi")},
        },
    }
