"""Redis with replication and Sentinel (Bitnami chart), AUTH from a generated Secret."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.settings import RedisSettings

RELEASE = "redis"
AUTH_SECRET = "redis-auth"
MASTER_SET = "rtap"
SENTINEL_PORT = 26379
# Bitnami's chart; rtap:redis.chartVersion pins its version.
CHART = "oci://registry-1.docker.io/bitnamicharts/redis"


@dataclass(frozen=True)
class RedisArgs:
    """rtap:redis: chart version, replicas, persistence and sizes."""

    placement: kube.Placement
    redis: RedisSettings


def pod_labels() -> dict[str, str]:
    """The labels the chart puts on its data pods (release name as the instance)."""
    return {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": RELEASE}


class Redis(pulumi.ComponentResource):
    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:redis:Redis", name, None, opts)
        s, namespace = args.redis, args.placement.namespace
        self.auth, _ = kube.generated_secret(AUTH_SECRET, namespace, "redis", ["password"], self)
        self.release = k8s.helm.v3.Release(
            RELEASE,
            name=RELEASE,
            chart=CHART,
            version=s.chart_version,
            namespace=namespace,
            values={
                "architecture": "replication",
                "commonLabels": {"app.kubernetes.io/part-of": kube.PART_OF},
                "auth": {
                    "enabled": True,
                    "sentinel": True,
                    "existingSecret": AUTH_SECRET,
                    "existingSecretPasswordKey": "password",
                },
                "sentinel": {
                    "enabled": True,
                    "masterSet": MASTER_SET,
                    "quorum": s.replicas // 2 + 1,
                    "resources": kube.size("100m", "128Mi", "250m", "128Mi"),
                },
                "replica": {
                    "replicaCount": s.replicas,
                    "resources": kube.container_resources(s.node),
                    "persistence": {
                        "enabled": s.persistence,
                        "size": f"{s.storage_gib}Gi",
                        "storageClass": args.placement.storage_class,
                    },
                    "topologySpreadConstraints": kube.zone_spread(pod_labels()),
                    "pdb": {"create": True, "maxUnavailable": 1},
                },
                "metrics": {
                    "enabled": True,
                    "resources": kube.size("50m", "64Mi", "200m", "64Mi"),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.auth]),
        )
        self.sentinels = f"{RELEASE}.{namespace}.svc:{SENTINEL_PORT}"
        self.register_outputs({"sentinels": self.sentinels, "masterSet": MASTER_SET})
