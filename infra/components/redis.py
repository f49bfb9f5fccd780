"""Redis-protocol cache with replication and Sentinel failover: a StatefulSet the program
declares itself (Valkey, with a Sentinel and a metrics exporter in every pod), AUTH from a
generated Secret.

Each pod starts through infra/manifests/redis-node.sh, which asks the other pods'
Sentinels for the current primary: a fresh group starts with pod 0 as the primary, and a
pod that comes back after a failover rejoins as a replica of the promoted one. Sentinels
announce pods by their stable DNS names, so the API's client follows them across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components.vertical_scaling import VpaTarget
from infra.manifests import text
from infra.settings import RedisSettings

NAME = "redis"
HEADLESS = "redis-headless"
AUTH_SECRET = "redis-auth"
SCRIPTS = "redis-scripts"
SCRIPT = "redis-node.sh"
MASTER_SET = "rtap"
PORT = 6379
SENTINEL_PORT = 26379
METRICS_PORT = 9121
# The uid and gid of the `valkey` user in the official image: the pod runs as it.
VALKEY_UID = 999
DATA_DIR = "/data"
CONF_DIR = "/conf"


@dataclass(frozen=True)
class RedisArgs:
    """rtap:redis: images, replicas, persistence and sizes."""

    placement: kube.Placement
    redis: RedisSettings


def pod_labels() -> dict[str, str]:
    return kube.selector(NAME)


def peers(namespace: str, replicas: int) -> str:
    """Every pod as host:port:sentinel-port, by the stable names the headless Service gives."""
    return " ".join(
        f"{NAME}-{i}.{HEADLESS}.{namespace}.svc.cluster.local:{PORT}:{SENTINEL_PORT}"
        for i in range(replicas)
    )


class Redis(pulumi.ComponentResource):
    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:redis:Redis", name, None, opts)
        self._args = args
        namespace = args.placement.namespace
        self.auth, passwords = kube.generated_secret(
            AUTH_SECRET, namespace, "redis", ["password"], self
        )
        script = text(SCRIPT)
        scripts = k8s.core.v1.ConfigMap(
            SCRIPTS,
            metadata=kube.metadata(SCRIPTS, namespace, "redis"),
            data={SCRIPT: script},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._services()
        # A new script or password rolls the pods: both are read only when a pod starts.
        digest = kube.digest([script, passwords["password"]])
        self.statefulset = k8s.apps.v1.StatefulSet(
            NAME,
            metadata=kube.metadata(NAME, namespace, "redis", kube.image_tag(args.redis.image)),
            spec=self._statefulset_spec(digest),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.auth, scripts]),
        )
        # Evicting the primary to resize it is a Sentinel failover: recommendations only.
        self.vertical_targets = [VpaTarget("apps/v1", "StatefulSet", NAME, stateful=True)]
        kube.disruption_budget(NAME, namespace, "redis", self)
        self.sentinels = f"{NAME}.{namespace}.svc:{SENTINEL_PORT}"
        self.register_outputs({"sentinels": self.sentinels, "masterSet": MASTER_SET})

    def _services(self) -> None:
        namespace = self._args.placement.namespace
        ports = [
            {"name": "redis", "port": PORT, "targetPort": "redis"},
            {"name": "sentinel", "port": SENTINEL_PORT, "targetPort": "sentinel"},
        ]
        # The pods' DNS names exist before they are ready: a starting pod must reach its
        # peers' Sentinels, and Sentinels announce the pods by these names.
        k8s.core.v1.Service(
            HEADLESS,
            metadata=kube.metadata(HEADLESS, namespace, "redis"),
            spec={
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": pod_labels(),
                "ports": ports,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Clients ask any ready Sentinel for the primary, through this one address.
        k8s.core.v1.Service(
            NAME,
            metadata=kube.metadata(NAME, namespace, "redis"),
            spec={"selector": pod_labels(), "ports": ports[1:]},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _statefulset_spec(self, digest: pulumi.Output[str]) -> kube.Json:
        s, placement = self._args.redis, self._args.placement
        data_volume: list[kube.Json] = [] if s.persistence else [{"name": "data", "emptyDir": {}}]
        spec: kube.Json = {
            "serviceName": HEADLESS,
            "replicas": s.replicas,
            # Pod 0 first: on a fresh group it is the primary the others replicate.
            "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": pod_labels()},
            "template": {
                "metadata": {
                    "labels": kube.labels(NAME, "redis", kube.image_tag(s.image)),
                    "annotations": {"rtap.dev/redis-config": digest},
                },
                "spec": {
                    "securityContext": {
                        **kube.RESTRICTED_POD,
                        "runAsUser": VALKEY_UID,
                        "runAsGroup": VALKEY_UID,
                        "fsGroup": VALKEY_UID,
                    },
                    "containers": self._containers(),
                    "volumes": [
                        *data_volume,
                        {"name": "conf", "emptyDir": {}},
                        {"name": "scripts", "configMap": {"name": SCRIPTS, "defaultMode": 0o555}},
                    ],
                    "topologySpreadConstraints": kube.zone_spread(pod_labels()),
                    "nodeSelector": kube.role_node_selector(placement, "general"),
                    "terminationGracePeriodSeconds": 30,
                },
            },
        }
        if s.persistence:
            spec["volumeClaimTemplates"] = [
                {
                    "metadata": {"name": "data", "labels": kube.labels(NAME, "redis")},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": placement.storage_class,
                        "resources": {"requests": {"storage": f"{s.storage_gib}Gi"}},
                    },
                }
            ]
        return spec

    def _containers(self) -> list[kube.Json]:
        s, namespace = self._args.redis, self._args.placement.namespace
        env = [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "NODE_SELF",
                "value": f"$(POD_NAME).{HEADLESS}.{namespace}.svc.cluster.local"
                f":{PORT}:{SENTINEL_PORT}",
            },
            {"name": "NODE_PEERS", "value": peers(namespace, s.replicas)},
            {"name": "MASTER_SET", "value": MASTER_SET},
            {"name": "QUORUM", "value": str(s.replicas // 2 + 1)},
            {"name": "DATA_DIR", "value": DATA_DIR},
            {"name": "CONF_DIR", "value": CONF_DIR},
            kube.secret_env("REDIS_PASSWORD", AUTH_SECRET, "password"),
        ]
        mounts = [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "conf", "mountPath": CONF_DIR},
            {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
        ]

        def node(role: str, port_name: str, port: int, resources: kube.Json) -> kube.Json:
            ping = (
                f'valkey-cli -p {port} -a "$REDIS_PASSWORD" --no-auth-warning ping | grep -q PONG'
            )
            probe = {"exec": {"command": ["sh", "-c", ping]}, "periodSeconds": 5}
            return {
                "name": role,
                "image": s.image,
                "command": ["sh", f"/scripts/{SCRIPT}", "server" if role == NAME else role],
                "ports": [{"name": port_name, "containerPort": port}],
                "env": env,
                "resources": resources,
                # A data node loading a large append-only file answers LOADING for a while.
                "startupProbe": {**probe, "timeoutSeconds": 3, "failureThreshold": 60},
                "readinessProbe": {**probe, "timeoutSeconds": 3},
                "livenessProbe": {**probe, "timeoutSeconds": 3, "failureThreshold": 6},
                "securityContext": kube.restricted_container(),
                "volumeMounts": mounts,
            }

        return [
            node(NAME, "redis", PORT, kube.container_resources(s.node)),
            node("sentinel", "sentinel", SENTINEL_PORT, kube.size("100m", "64Mi", "250m", "64Mi")),
            {
                "name": "metrics",
                "image": s.exporter_image,
                "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                "env": [
                    {"name": "REDIS_ADDR", "value": f"redis://localhost:{PORT}"},
                    kube.secret_env("REDIS_PASSWORD", AUTH_SECRET, "password"),
                ],
                "resources": kube.size("50m", "64Mi", "200m", "64Mi"),
                "securityContext": kube.restricted_container(),
            },
        ]
