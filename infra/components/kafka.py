"""Strimzi Kafka in KRaft mode: the operator, node pools per zone, topics.

Brokers and controllers get one KafkaNodePool per zone, pinned to it by node affinity, so
the spread is exact rather than left to the scheduler; rack awareness on the zone label
then places each partition's replicas in different zones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components.placement import per_zone
from infra.components.vertical_scaling import VpaTarget
from infra.manifests import text
from infra.settings import KafkaClusterSettings
from infra.sizes import Resources
from workloads.kafka import KafkaSettings

CLUSTER = "rtap"
BOOTSTRAP_TLS = f"{CLUSTER}-kafka-bootstrap:9093"
# Strimzi publishes the cluster CA here; clients trust it for the TLS listener.
CLUSTER_CA_SECRET = f"{CLUSTER}-cluster-ca-cert"
OPERATOR_NAMESPACE = "strimzi"
# The operator's chart, from Strimzi's OCI registry (no repository index to fetch);
# rtap:kafkaCluster.operatorChartVersion pins its version.
OPERATOR_CHART = "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
# Its CRDs' folder in infra/upstream-crds (the program declares them: crds.py).
OPERATOR_CRDS = "strimzi"
_STRIMZI = "kafka.strimzi.io/v1"
_HOUR_MS = 3_600_000
# Lets a consumer that names its zone (client.rack) fetch from a replica there.
RACK_AWARE_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


def strimzi_metadata(name: str, namespace: str, component: str) -> kube.Json:
    """Metadata of a resource Strimzi manages for the cluster (pools, topics, users)."""
    meta = kube.metadata(name, namespace, component)
    meta["labels"]["strimzi.io/cluster"] = CLUSTER
    return meta


@dataclass(frozen=True)
class KafkaArgs:
    """rtap:kafka (topics, durability) and rtap:kafkaCluster (versions, pools, sizes)."""

    placement: kube.Placement
    kafka: KafkaSettings
    cluster: KafkaClusterSettings


class Kafka(pulumi.ComponentResource):
    """The operator, the Kafka cluster with its node pools, and the platform's topics."""

    def __init__(self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:kafka:Kafka", name, None, opts)
        self._args = args
        namespace = args.placement.namespace
        self.operator = kube.operator_release(
            "strimzi-operator",
            kube.Chart(OPERATOR_CHART, None, args.cluster.operator_chart_version, OPERATOR_CRDS),
            OPERATOR_NAMESPACE,
            {
                "watchNamespaces": [namespace],
                "resources": kube.size("200m", "384Mi", "1", "384Mi"),
            },
            self,
        )
        after_operator = pulumi.ResourceOptions(parent=self, depends_on=[self.operator])
        metrics = k8s.core.v1.ConfigMap(
            "kafka-metrics",
            metadata=kube.metadata("kafka-metrics", namespace, "kafka"),
            data={"kafka-metrics-config.yml": text("kafka-metrics.yaml")},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.pools = self._node_pools(after_operator)
        self.cluster = kube.custom_resource(
            "kafka",
            api_version=_STRIMZI,
            kind="Kafka",
            # No strimzi.io/node-pools or strimzi.io/kraft annotation: both are the
            # default since Strimzi 0.48, which ignores them.
            metadata=kube.metadata(CLUSTER, namespace, "kafka", args.cluster.kafka_version),
            spec=self._kafka_spec(),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.operator, metrics, *self.pools]
            ),
        )
        self.topics = self._topics(pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]))
        self.bootstrap = pulumi.Output.from_input(BOOTSTRAP_TLS)
        self.register_outputs(
            {
                "bootstrap": self.bootstrap,
                "brokers": args.cluster.brokers,
                "topics": [args.kafka.events_topic, args.kafka.dead_letter_topic],
            }
        )

    def _kafka_spec(self) -> kube.Json:
        kafka, cluster = self._args.kafka, self._args.cluster
        rf, min_isr = kafka.replication_factor, kafka.min_insync_replicas
        spec: kube.Json = {
            "kafka": {
                "version": cluster.kafka_version,
                "listeners": [
                    {
                        "name": "tls",
                        "port": 9093,
                        "type": "internal",
                        "tls": True,
                        "authentication": {"type": "scram-sha-512"},
                    }
                ],
                "authorization": {"type": "simple"},
                "rack": {"topologyKey": kube.ZONE_LABEL},
                "config": {
                    "default.replication.factor": rf,
                    "min.insync.replicas": min_isr,
                    "offsets.topic.replication.factor": rf,
                    "transaction.state.log.replication.factor": rf,
                    "transaction.state.log.min.isr": min_isr,
                    "auto.create.topics.enable": False,
                    "replica.selector.class": RACK_AWARE_SELECTOR,
                },
                "metricsConfig": {
                    "type": "jmxPrometheusExporter",
                    "valueFrom": {
                        "configMapKeyRef": {
                            "name": "kafka-metrics",
                            "key": "kafka-metrics-config.yml",
                        }
                    },
                },
                "template": {"podDisruptionBudget": {"maxUnavailable": 1}},
            },
            "entityOperator": {
                "topicOperator": {"resources": _small()},
                "userOperator": {"resources": _small()},
            },
            "kafkaExporter": {"topicRegex": ".*", "groupRegex": ".*", "resources": _small()},
        }
        if cluster.cruise_control:
            spec["cruiseControl"] = {"resources": kube.size("500m", "1Gi", "1", "1Gi")}
        return spec

    def _node_pools(self, opts: pulumi.ResourceOptions) -> list[k8s.apiextensions.CustomResource]:
        s = self._args.cluster
        self.vertical_targets: list[VpaTarget] = []
        pools = []
        for role, count, storage_gib, size in (
            ("controller", s.controllers, s.controller_storage_gib, s.controller),
            ("broker", s.brokers, s.broker_storage_gib, s.broker),
        ):
            for zone, replicas in per_zone(count, self._args.placement.zones).items():
                pools.append(
                    self._pool(
                        role=role,
                        zone=zone,
                        replicas=replicas,
                        storage_gib=storage_gib,
                        size=size,
                        opts=opts,
                    )
                )
        return pools

    def _pool(
        self,
        *,
        role: str,
        zone: str,
        replicas: int,
        storage_gib: int,
        size: Resources,
        opts: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        name = f"{role}-{kube.zone_slug(zone)}"
        # JVM heaps are set from the pool's memory at start: recommendations only.
        self.vertical_targets.append(VpaTarget(_STRIMZI, "KafkaNodePool", name, stateful=True))
        placement = self._args.placement
        affinity = kube.zone_affinity(zone)
        affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ][0]["matchExpressions"].extend(
            {"key": key, "operator": "In", "values": [value]}
            for key, value in kube.role_node_selector(placement, "kafka").items()
        )
        meta = strimzi_metadata(name, placement.namespace, f"kafka-{role}")
        return kube.custom_resource(
            f"kafka-pool-{name}",
            api_version=_STRIMZI,
            kind="KafkaNodePool",
            metadata=meta,
            spec={
                "replicas": replicas,
                "roles": [role],
                "resources": kube.container_resources(size),
                "storage": {
                    "type": "jbod",
                    "volumes": [
                        {
                            "id": 0,
                            "type": "persistent-claim",
                            "size": f"{storage_gib}Gi",
                            "class": placement.storage_class,
                            "deleteClaim": False,
                            "kraftMetadata": "shared",
                        }
                    ],
                },
                "template": {
                    "pod": {"affinity": affinity, "tolerations": kube.role_tolerations("kafka")}
                },
            },
            opts=opts,
        )

    def _topics(self, opts: pulumi.ResourceOptions) -> list[k8s.apiextensions.CustomResource]:
        kafka = self._args.kafka
        common = {"min.insync.replicas": kafka.min_insync_replicas}
        layout = (
            (
                kafka.events_topic,
                kafka.partitions,
                {"retention.ms": kafka.retention_hours * _HOUR_MS},
            ),
            (
                kafka.dead_letter_topic,
                kafka.partitions,
                {"retention.ms": kafka.dead_letter_retention_hours * _HOUR_MS},
            ),
            # The dead-letter writer's progress: one compacted partition, kept forever.
            (
                kafka.dead_letter_progress_topic,
                1,
                {"cleanup.policy": "compact", "retention.ms": -1},
            ),
        )
        topics = []
        for topic, partitions, config in layout:
            name = topic.replace(".", "-").replace("_", "-").lower()
            meta = strimzi_metadata(name, self._args.placement.namespace, "kafka-topic")
            topics.append(
                kube.custom_resource(
                    f"topic-{name}",
                    api_version=_STRIMZI,
                    kind="KafkaTopic",
                    metadata=meta,
                    spec={
                        "topicName": topic,
                        "partitions": partitions,
                        "replicas": kafka.replication_factor,
                        "config": {**common, **config},
                    },
                    opts=opts,
                )
            )
        return topics


def _small() -> kube.Json:
    return kube.size("100m", "256Mi", "500m", "256Mi")
