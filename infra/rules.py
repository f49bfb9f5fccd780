"""Rules across settings sections: what no stack may deploy, and what prod must survive.

Each message starts with the key to change, so `pulumi up` and `rtap render` can print
it as is.
"""

from __future__ import annotations

from infra.components import crds
from infra.components.autoscaling import KEDA_CRDS, VPA_CRDS
from infra.components.clickhouse import OPERATOR_CRDS as CLICKHOUSE_CRDS
from infra.components.kafka import OPERATOR_CRDS as KAFKA_CRDS
from infra.components.karpenter import CRDS as KARPENTER_CRDS
from infra.components.load_balancer import CRDS as LOAD_BALANCER_CRDS
from infra.components.monitoring import CRDS as MONITORING_CRDS
from infra.components.spark import OPERATOR_CRDS as SPARK_CRDS
from infra.settings import StackSettings


def rule_violations(s: StackSettings) -> list[str]:
    """Rules across sections, each message starting with the key to change."""
    return [
        *_placement_rules(s),
        *_kafka_rules(s),
        *_clickhouse_rules(s),
        *_prod_rules(s),
        *_crd_rules(s),
    ]


def _crd_rules(s: StackSettings) -> list[str]:
    """Every pinned operator has its CRDs in infra/upstream-crds: the program declares
    them, so a version without them cannot be deployed."""
    pinned = [
        ("kafkaCluster.operatorChartVersion", KAFKA_CRDS, s.kafka_cluster.operator_chart_version),
        (
            "clickhouseCluster.operatorChartVersion",
            CLICKHOUSE_CRDS,
            s.clickhouse_cluster.operator_chart_version,
        ),
        ("spark.operatorChartVersion", SPARK_CRDS, s.spark.operator_chart_version),
        ("monitoring.chartVersion", MONITORING_CRDS, s.monitoring.chart_version),
        ("autoscaling.kedaChartVersion", KEDA_CRDS, s.autoscaling.keda_chart_version),
        ("autoscaling.vpaChartVersion", VPA_CRDS, s.autoscaling.vpa_chart_version),
    ]
    if s.cluster.mode == "eks":
        version = s.cluster.load_balancer_controller_chart_version
        pinned.append(("cluster.loadBalancerControllerChartVersion", LOAD_BALANCER_CRDS, version))
        pinned.append(
            ("cluster.karpenterChartVersion", KARPENTER_CRDS, s.cluster.karpenter_chart_version)
        )
    return [
        f"rtap:{key}: rtap has no CRDs of {operator} {version} "
        f"(it has {', '.join(crds.vendored_versions(operator)) or 'none'}); copy the "
        f"release's original CRDs into {crds.folder(operator, version)}, as its README says"
        for key, operator, version in pinned
        if not crds.folder(operator, version).is_dir()
    ]


def _placement_rules(s: StackSettings) -> list[str]:
    found = []
    if s.cluster.mode == "eks":
        outside = [z for z in s.cluster.zones if not z.startswith(s.network.region)]
        if outside:
            found.append(f"rtap:cluster.zones: {outside} are outside rtap:network.region")
    if s.cluster.mode == "existing" and not s.spark.checkpoint_uri:
        found.append(
            "rtap:spark.checkpointUri: required with cluster.mode existing "
            "(eks mode creates a bucket)"
        )
    return found


def _kafka_rules(s: StackSettings) -> list[str]:
    found = []
    zones = len(s.cluster.zones)
    kafka, cluster = s.kafka, s.kafka_cluster
    if kafka.replication_factor < kafka.min_insync_replicas + 1:
        found.append(
            f"rtap:kafka.replicationFactor: {kafka.replication_factor} replicas with "
            f"minInsyncReplicas {kafka.min_insync_replicas} stop writes when one broker is "
            f"down; use at least {kafka.min_insync_replicas + 1}"
        )
    if cluster.brokers < kafka.replication_factor:
        found.append(
            f"rtap:kafkaCluster.brokers: {cluster.brokers} brokers cannot hold "
            f"{kafka.replication_factor} replicas (rtap:kafka.replicationFactor)"
        )
    if cluster.brokers % zones:
        found.append(
            f"rtap:kafkaCluster.brokers: {cluster.brokers} do not spread over {zones} zones"
        )
    if cluster.controllers % 2 == 0:
        found.append("rtap:kafkaCluster.controllers: a KRaft quorum needs an odd number")
    if cluster.controllers > zones and cluster.controllers % zones:
        found.append(
            f"rtap:kafkaCluster.controllers: {cluster.controllers} do not spread over {zones} zones"
        )
    return found


def _clickhouse_rules(s: StackSettings) -> list[str]:
    found = []
    zones = len(s.cluster.zones)
    ch = s.clickhouse_cluster
    if ch.replicas > zones:
        found.append(
            f"rtap:clickhouseCluster.replicas: {ch.replicas} replicas of a shard need as many "
            f"zones (rtap:cluster.zones has {zones})"
        )
    if ch.keeper_replicas > zones:
        found.append(
            f"rtap:clickhouseCluster.keeperReplicas: one member per zone, but only {zones} zones"
        )
    return found


# What prod must survive: the loss of one zone, or of any one node, without losing
# writes or data. Each minimum names the setting that falls short.
PROD_MINIMUMS: tuple[tuple[str, str, int, str], ...] = (
    ("rtap:cluster.zones", "zones", 3, "to survive losing one"),
    ("rtap:kafkaCluster.controllers", "controllers", 3, "a KRaft quorum that survives one loss"),
    ("rtap:kafka.minInsyncReplicas", "min_isr", 2, "no acknowledged write on a single disk"),
    ("rtap:clickhouseCluster.replicas", "ch_replicas", 2, "a replica outside the failed zone"),
    ("rtap:clickhouseCluster.keeperReplicas", "keepers", 3, "a Keeper quorum of 3"),
    ("rtap:redis.replicas", "redis", 3, "a Sentinel quorum of 2 survives one loss"),
    ("rtap:servingDeployment.minReplicas", "api", 2, "an API replica in another zone"),
)


def _prod_rules(s: StackSettings) -> list[str]:
    if not s.is_prod:
        return []
    actual = {
        "zones": len(s.cluster.zones),
        "controllers": s.kafka_cluster.controllers,
        "min_isr": s.kafka.min_insync_replicas,
        "ch_replicas": s.clickhouse_cluster.replicas,
        "keepers": s.clickhouse_cluster.keeper_replicas,
        "redis": s.redis.replicas,
        "api": s.serving_deployment.min_replicas,
    }
    found = [
        f"{key}: prod needs at least {minimum} ({why}); the stack has {actual[name]}"
        for key, name, minimum, why in PROD_MINIMUMS
        if actual[name] < minimum
    ]
    if s.cluster.mode == "eks" and s.network.nat_gateways != "perZone":
        found.append(
            "rtap:network.natGateways: prod needs perZone, so a zone outage leaves the "
            "other zones their egress"
        )
    return found
