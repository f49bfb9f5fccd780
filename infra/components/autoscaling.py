"""The autoscalers: metrics-server, without which no HPA can read a pod's CPU, and KEDA,
which scales the API on CPU and on the requests per second Prometheus counts.

The streaming job is not scaled by either: a SparkApplication has no /scale subresource
and its lag is visible to no Kafka tool (docs/operations.md, the lag-driven design).
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
        self.register_outputs({"keda": s.keda_chart_version})
