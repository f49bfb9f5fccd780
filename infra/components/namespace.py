"""The platform's namespace, with the Pod Security level its workloads meet, and the
stack settings every workload container reads."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube


@dataclass(frozen=True)
class NamespaceArgs:
    """rtap:cluster.namespace, and the workload sections every container reads, as the
    settings file hands them over (kube.workload_settings_json)."""

    namespace: str
    workload_settings_json: str


class PlatformNamespace(pulumi.ComponentResource):
    def __init__(self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:cluster:PlatformNamespace", name, None, opts)
        self.namespace = k8s.core.v1.Namespace(
            args.namespace,
            metadata={
                "name": args.namespace,
                "labels": {
                    **kube.labels(args.namespace, "namespace"),
                    # Operators' pods (Strimzi, Altinity) need baseline, not restricted.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.settings = k8s.core.v1.ConfigMap(
            kube.SETTINGS_CONFIG_MAP,
            metadata=kube.metadata(kube.SETTINGS_CONFIG_MAP, args.namespace, "settings"),
            data={kube.SETTINGS_KEY: args.workload_settings_json},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.register_outputs({"name": args.namespace})
