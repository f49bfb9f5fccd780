"""ClickHouse on the Altinity operator: Keeper quorum, replicated servers, users, schema.

Each replica of every shard runs from a pod template pinned to one zone, so the replicas
of a shard never share a zone. Keeper members spread one per zone. Passwords are
generated into a Secret and the operator reads them from there (k8s_secret_password).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components.vertical_scaling import VpaTarget
from infra.settings import ClickHouseClusterSettings
from workloads.storage.settings import ClickHouseSettings

KEEPER = "rtap-keeper"
KEEPER_CLUSTER = "keeper"
INSTALLATION = "rtap"
CREDENTIALS = "clickhouse-credentials"
USERS = ("migrator", "writer", "reader")
OPERATOR_NAMESPACE = "clickhouse-operator"
# The operator's chart; rtap:clickhouseCluster.operatorChartVersion pins its version.
OPERATOR_CHART = "altinity-clickhouse-operator"
# Its CRDs' folder in infra/upstream-crds (the program declares them: crds.py).
OPERATOR_CRDS = "altinity-clickhouse-operator"
OPERATOR_CHART_REPOSITORY = "https://docs.altinity.com/clickhouse-operator/"
HTTP_PORT = 8123
# ClickHouse's and Keeper's own Prometheus endpoints, which the monitors scrape (Altinity's
# default monitor reads the operator's exporter and misses 9363: clickhouse-operator#1763).
METRICS_PORT = 9363
KEEPER_METRICS_PORT = 7000


def prometheus_endpoint(port: int) -> kube.Json:
    """The server's `<prometheus>` config: metrics, events and asynchronous metrics."""
    return {
        "prometheus/endpoint": "/metrics",
        "prometheus/port": port,
        "prometheus/metrics": True,
        "prometheus/events": True,
        "prometheus/asynchronous_metrics": True,
    }


@dataclass(frozen=True)
class ClickHouseArgs:
    """rtap:clickhouseCluster (operator, servers, Keeper), rtap:clickhouse (the database
    the users' grants name), and the image the migrations Job runs (rtap:images.serving,
    which ships the migrations)."""

    placement: kube.Placement
    clickhouse: ClickHouseSettings
    cluster: ClickHouseClusterSettings
    migrations_image: str


def service_host(namespace: str) -> str:
    """The installation's cluster-wide Service (the operator names it clickhouse-<chi>)."""
    return f"clickhouse-{INSTALLATION}.{namespace}.svc"


def dsn(user: str, namespace: str) -> str:
    """Where `user` reaches ClickHouse; the password comes separately, from the Secret."""
    return f"http://{user}@{service_host(namespace)}:{HTTP_PORT}"


def credentials_version(passwords: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[str]:
    """A name of the users' passwords as they are now: it changes when one does, and only
    then. A digest, not a secret.

    The operator reads `k8s_secret_password` Secrets only when it reconciles the
    installation, and clients read theirs only when their pods start: a rotated password
    alone would reach neither. The installation carries this version as its taskID (a new
    one is a change the operator reconciles), and every client's pod template as the
    annotation kube.CLICKHOUSE_CREDENTIALS (a new one rolls the pods).
    """
    return kube.digest([passwords[user] for user in USERS], prefix="credentials-")


def vertical_targets(cluster: ClickHouseClusterSettings) -> list[VpaTarget]:
    """The operator's StatefulSets, one per host (`chi-<installation>-<cluster>-<shard>-
    <replica>`, `chk-…` for Keeper, as the operator's namer patterns make them): the
    installations themselves have no /scale subresource for a VPA to follow."""
    servers = [
        f"chi-{INSTALLATION}-{cluster.cluster_name}-{shard}-{replica}"
        for shard in range(cluster.shards)
        for replica in range(cluster.replicas)
    ]
    keepers = [f"chk-{KEEPER}-{KEEPER_CLUSTER}-0-{i}" for i in range(cluster.keeper_replicas)]
    return [VpaTarget("apps/v1", "StatefulSet", name, stateful=True) for name in servers + keepers]


class ClickHouse(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClickHouseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:clickhouse:ClickHouse", name, None, opts)
        self._args = args
        s, namespace = args.cluster, args.placement.namespace
        self.vertical_targets = vertical_targets(s)
        self.operator = kube.operator_release(
            "clickhouse-operator",
            kube.Chart(
                OPERATOR_CHART, OPERATOR_CHART_REPOSITORY, s.operator_chart_version, OPERATOR_CRDS
            ),
            OPERATOR_NAMESPACE,
            {
                "operator": {"resources": kube.size("100m", "256Mi", "500m", "256Mi")},
                "metrics": {"resources": kube.size("50m", "128Mi", "250m", "128Mi")},
                "configs": {"files": {"config.yaml": {"watch": {"namespaces": [namespace]}}}},
                # From 0.25.6 the chart applies its CRDs in a pre-upgrade hook Job (with
                # --force-conflicts, from a bitnami/kubectl image); the program owns them.
                # 0.25.4 has no such hook, and its values schema lets the key through.
                "crdHook": {"enabled": False},
            },
            self,
        )
        self.credentials, passwords = kube.generated_secret(
            CREDENTIALS, namespace, "clickhouse", USERS, self
        )
        self.credentials_version = credentials_version(passwords)
        after_operator = pulumi.ResourceOptions(parent=self, depends_on=[self.operator])
        self.keeper = kube.custom_resource(
            "clickhouse-keeper",
            api_version="clickhouse-keeper.altinity.com/v1",
            kind="ClickHouseKeeperInstallation",
            metadata=kube.metadata(
                KEEPER, namespace, "clickhouse-keeper", kube.image_tag(s.keeper_image)
            ),
            spec=self._keeper_spec(),
            opts=after_operator,
        )
        self.installation = kube.custom_resource(
            "clickhouse-installation",
            api_version="clickhouse.altinity.com/v1",
            kind="ClickHouseInstallation",
            metadata=kube.metadata(
                INSTALLATION, namespace, "clickhouse", kube.image_tag(s.server_image)
            ),
            spec={"taskID": self.credentials_version, **self._installation_spec()},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.operator, self.keeper, self.credentials]
            ),
        )
        self.migrations = self._migrations_job()
        self.register_outputs(
            {
                "host": service_host(namespace),
                "shards": s.shards,
                "replicas": s.replicas,
                "keeperReplicas": s.keeper_replicas,
            }
        )

    def _keeper_spec(self) -> kube.Json:
        cluster, placement = self._args.cluster, self._args.placement
        keeper_pods = {"clickhouse-keeper.altinity.com/chk": KEEPER}
        return {
            "configuration": {
                "settings": prometheus_endpoint(KEEPER_METRICS_PORT),
                "clusters": [
                    {
                        "name": KEEPER_CLUSTER,
                        "layout": {"replicasCount": cluster.keeper_replicas},
                        "pdbMaxUnavailable": 1,
                    }
                ],
            },
            "defaults": {
                "templates": {"podTemplate": "keeper", "dataVolumeClaimTemplate": "keeper-data"}
            },
            "templates": {
                "podTemplates": [
                    {
                        "name": "keeper",
                        "metadata": {"labels": kube.labels(KEEPER, "clickhouse-keeper")},
                        "spec": {
                            "containers": [
                                {
                                    "name": "clickhouse-keeper",
                                    "image": cluster.keeper_image,
                                    "resources": kube.container_resources(cluster.keeper),
                                }
                            ],
                            "topologySpreadConstraints": kube.zone_spread(keeper_pods),
                            "tolerations": kube.role_tolerations("clickhouse"),
                            "nodeSelector": kube.role_node_selector(placement, "clickhouse"),
                        },
                    }
                ],
                "volumeClaimTemplates": [
                    _claim("keeper-data", placement.storage_class, cluster.keeper_storage_gib)
                ],
            },
        }

    def _installation_spec(self) -> kube.Json:
        ch, placement = self._args.cluster, self._args.placement
        zones = placement.zones[: ch.replicas]
        keeper_host = f"keeper-{KEEPER}.{placement.namespace}.svc"
        return {
            "configuration": {
                "zookeeper": {"nodes": [{"host": keeper_host, "port": 2181}]},
                "settings": prometheus_endpoint(METRICS_PORT),
                "users": _users(self._args.clickhouse.database),
                "profiles": {"reader/readonly": 2, "writer/readonly": 0, "migrator/readonly": 0},
                "clusters": [
                    {
                        "name": ch.cluster_name,
                        "layout": {
                            "shardsCount": ch.shards,
                            "replicasCount": ch.replicas,
                            "replicas": [
                                {"templates": {"podTemplate": f"server-{kube.zone_slug(z)}"}}
                                for z in zones
                            ],
                        },
                        "pdbMaxUnavailable": 1,
                    }
                ],
            },
            "defaults": {"templates": {"dataVolumeClaimTemplate": "data"}},
            "templates": {
                "podTemplates": [self._server_pod(zone) for zone in zones],
                "volumeClaimTemplates": [_claim("data", placement.storage_class, ch.storage_gib)],
            },
        }

    def _server_pod(self, zone: str) -> kube.Json:
        cluster = self._args.cluster
        return {
            "name": f"server-{kube.zone_slug(zone)}",
            "zone": {"key": kube.ZONE_LABEL, "values": [zone]},
            "metadata": {"labels": kube.labels(INSTALLATION, "clickhouse")},
            "spec": {
                "containers": [
                    {
                        "name": "clickhouse",
                        "image": cluster.server_image,
                        "resources": kube.container_resources(cluster.server),
                    }
                ],
                "tolerations": kube.role_tolerations("clickhouse"),
                "nodeSelector": kube.role_node_selector(self._args.placement, "clickhouse"),
            },
        }

    def _migrations_job(self) -> k8s.batch.v1.Job:
        """Runs `python -m workloads.storage` from the serving image, which ships the
        migrations; the settings' clickhouse.cluster switches on Replicated engines."""
        ns = self._args.placement.namespace
        name = "clickhouse-migrations"
        settings_env, settings_volume, settings_mount = kube.settings_mount()
        return k8s.batch.v1.Job(
            name,
            metadata=kube.metadata(name, ns, "clickhouse-migrations"),
            spec={
                # No ttlSecondsAfterFinished: a Job the cluster deletes by itself is drift
                # to `pulumi refresh`, and its record of the last migration goes with it.
                "backoffLimit": 6,
                "template": {
                    "metadata": {
                        "labels": kube.labels(name, "clickhouse-migrations"),
                        "annotations": {kube.CLICKHOUSE_CREDENTIALS: self.credentials_version},
                    },
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "containers": [
                            {
                                "name": "migrate",
                                "image": self._args.migrations_image,
                                "command": ["python", "-m", "workloads.storage"],
                                "env": [
                                    settings_env,
                                    {"name": "CLICKHOUSE_DSN", "value": dsn("migrator", ns)},
                                    kube.secret_env("CLICKHOUSE_PASSWORD", CREDENTIALS, "migrator"),
                                ],
                                # A read-only root: what Python writes goes to /tmp.
                                "volumeMounts": [
                                    settings_mount,
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                                "resources": kube.size("100m", "256Mi", "500m", "256Mi"),
                                "securityContext": kube.restricted_container(),
                            }
                        ],
                        "volumes": [settings_volume, {"name": "tmp", "emptyDir": {}}],
                        "securityContext": kube.RESTRICTED_POD,
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.installation]),
        )


def _users(database: str) -> kube.Json:
    """Least privilege: the migrator owns the schema, the writer inserts, the reader reads."""
    grants = {
        "migrator": [
            f"GRANT CREATE, ALTER, DROP, INSERT, SELECT ON {database}.*",
            "GRANT CLUSTER ON *.*",
        ],
        "writer": [f"GRANT INSERT, SELECT ON {database}.*"],
        "reader": [f"GRANT SELECT ON {database}.*"],
    }
    users: kube.Json = {}
    for user in USERS:
        users[f"{user}/k8s_secret_password"] = f"{CREDENTIALS}/{user}"
        users[f"{user}/networks/ip"] = ["::/0"]
        users[f"{user}/profile"] = user
        users[f"{user}/grants/query"] = grants[user]
    return users


def _claim(name: str, storage_class: str, gib: int) -> kube.Json:
    return {
        "name": name,
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        },
    }
