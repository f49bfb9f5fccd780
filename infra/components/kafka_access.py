"""Who may talk to Kafka, and the services around it: users with least-privilege ACLs,
Kafka Connect, and the schema registry.

Every client authenticates with SCRAM-SHA-512 on the TLS listener. Strimzi generates each
user's password into a Secret named after the user (keys `password` and
`sasl.jaas.config`); workloads read it from there, so no password passes through Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components.kafka import BOOTSTRAP_TLS, CLUSTER_CA_SECRET, strimzi_metadata
from infra.components.vertical_scaling import VpaTarget
from infra.settings import KafkaClusterSettings
from workloads.kafka import KafkaSettings
from workloads.kafka_uses import WORKLOAD_USES, KafkaUse, distinct

_STRIMZI = "kafka.strimzi.io/v1"
CONNECT_GROUP = "rtap-connect"
REGISTRY = "schema-registry"
# Apicurio Registry 3's KafkaSQL storage: the topics it creates and checks (journal,
# snapshots, events) and the prefix of its consumer groups (each replica's is
# `<prefix><uuid>`). Its configuration and the ACLs below both come from these.
REGISTRY_TOPICS = {
    "APICURIO_KAFKASQL_TOPIC": "kafkasql-journal",
    "APICURIO_KAFKASQL_SNAPSHOTS_TOPIC": "kafkasql-snapshots",
    "APICURIO_EVENTS_KAFKA_TOPIC": "registry-events",
}
REGISTRY_GROUP_PREFIX = "apicurio-"
REGISTRY_MANAGEMENT_PORT = 9000


@dataclass(frozen=True)
class KafkaAccessArgs:
    """rtap:kafka (the topics the ACLs name), rtap:kafkaCluster (Connect and the registry),
    and the Kafka component they wait for."""

    namespace: str
    kafka: KafkaSettings
    cluster: KafkaClusterSettings
    after: pulumi.Resource


def _acls(uses: list[KafkaUse]) -> list[kube.Json]:
    """One Strimzi ACL per resource, with every operation the uses need on it."""
    operations: dict[tuple[str, str, str], list[str]] = {}
    for use in distinct(uses):
        operations.setdefault((use.resource, use.name, use.pattern), []).append(use.operation)
    return [
        {"resource": {"type": kind, "name": name, "patternType": pattern}, "operations": ops}
        for (kind, name, pattern), ops in operations.items()
    ]


def _services_uses(kafka: KafkaSettings) -> dict[str, list[KafkaUse]]:
    """What Kafka Connect and the registry do, read in their upstream configuration."""
    manage = ("Read", "Write", "Create", "Describe", "DescribeConfigs")
    return {
        # Connect's config, offset and status topics are `<group>-*` (see _connect).
        "connect": [
            *(KafkaUse("topic", f"{CONNECT_GROUP}-", op, "prefix") for op in manage),
            KafkaUse("group", CONNECT_GROUP, "Read"),
            KafkaUse("topic", kafka.events_topic, "Read"),
            KafkaUse("topic", kafka.events_topic, "Describe"),
        ],
        REGISTRY: [
            *(KafkaUse("topic", topic, op) for topic in REGISTRY_TOPICS.values() for op in manage),
            KafkaUse("group", REGISTRY_GROUP_PREFIX, "Read", "prefix"),
            KafkaUse("group", REGISTRY_GROUP_PREFIX, "Describe", "prefix"),
        ],
    }


def user_uses(kafka: KafkaSettings) -> dict[str, list[KafkaUse]]:
    """Every KafkaUser the program declares, and what it may do: rtap's own workloads'
    uses come from their code (workloads/kafka_uses.py)."""
    return {
        **{user: uses(kafka) for user, uses in WORKLOAD_USES.items()},
        **_services_uses(kafka),
    }


class KafkaAccess(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: KafkaAccessArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rtap:kafka:KafkaAccess", name, None, opts)
        self._args = args
        after_kafka = pulumi.ResourceOptions(parent=self, depends_on=[args.after])
        self.users = {
            user: self._user(user, _acls(uses), after_kafka)
            for user, uses in user_uses(args.kafka).items()
        }
        self.connect = self._connect(
            pulumi.ResourceOptions(parent=self, depends_on=[self.users["connect"]])
        )
        self.registry = self._schema_registry(
            pulumi.ResourceOptions(parent=self, depends_on=[self.users[REGISTRY]])
        )
        # Stateless: its schemas live in Kafka. The JVM sizes its heap when it starts, so
        # a pod recreated with new requests gets a heap to match.
        self.vertical_targets = [
            VpaTarget(
                "apps/v1", "Deployment", REGISTRY, stateful=False, size=args.cluster.schema_registry
            )
        ]
        self.register_outputs(
            {
                "users": list(self.users),
                "schemaRegistryUrl": f"http://{REGISTRY}.{args.namespace}.svc:8080/apis/ccompat/v7",
            }
        )

    def _user(
        self, user: str, acls: list[kube.Json], opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        meta = strimzi_metadata(user, self._args.namespace, "kafka-user")
        return kube.custom_resource(
            f"kafka-user-{user}",
            api_version=_STRIMZI,
            kind="KafkaUser",
            metadata=meta,
            spec={
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": acls},
            },
            opts=opts,
        )

    def _connect(self, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        cluster = self._args.cluster
        rf = self._args.kafka.replication_factor
        name = "rtap-connect"
        meta = kube.metadata(name, self._args.namespace, "kafka-connect", cluster.kafka_version)
        meta["annotations"] = {"strimzi.io/use-connector-resources": "true"}
        return kube.custom_resource(
            "kafka-connect",
            api_version=_STRIMZI,
            kind="KafkaConnect",
            metadata=meta,
            spec={
                "version": cluster.kafka_version,
                "replicas": cluster.connect_replicas,
                "bootstrapServers": BOOTSTRAP_TLS,
                "groupId": CONNECT_GROUP,
                "configStorageTopic": f"{CONNECT_GROUP}-configs",
                "offsetStorageTopic": f"{CONNECT_GROUP}-offsets",
                "statusStorageTopic": f"{CONNECT_GROUP}-status",
                "config": {
                    "config.storage.replication.factor": rf,
                    "offset.storage.replication.factor": rf,
                    "status.storage.replication.factor": rf,
                },
                "tls": {
                    "trustedCertificates": [{"secretName": CLUSTER_CA_SECRET, "pattern": "*.crt"}]
                },
                "authentication": {
                    "type": "scram-sha-512",
                    "username": "connect",
                    "passwordSecret": {"secretName": "connect", "password": "password"},
                },
                "rack": {"topologyKey": kube.ZONE_LABEL},
                "resources": kube.container_resources(cluster.connect),
                "template": {
                    "pod": {
                        "topologySpreadConstraints": kube.zone_spread(
                            {"strimzi.io/cluster": name, "strimzi.io/kind": "KafkaConnect"}
                        )
                    },
                    "podDisruptionBudget": {"maxUnavailable": 1},
                },
            },
            opts=opts,
        )

    def _schema_registry(self, opts: pulumi.ResourceOptions) -> k8s.apps.v1.Deployment:
        cluster = self._args.cluster
        ns = self._args.namespace
        version = kube.image_tag(cluster.schema_registry_image)
        env = _registry_env()
        # Apicurio 3 serves its health checks on Quarkus' management interface, not on 8080.
        probe = {
            "httpGet": {"path": "/health/ready", "port": "management"},
            "periodSeconds": 10,
        }
        deployment = k8s.apps.v1.Deployment(
            REGISTRY,
            metadata=kube.metadata(REGISTRY, ns, "schema-registry", version),
            spec={
                "replicas": cluster.schema_registry_replicas,
                "selector": {"matchLabels": kube.selector(REGISTRY)},
                "template": {
                    "metadata": {"labels": kube.labels(REGISTRY, "schema-registry", version)},
                    "spec": {
                        "containers": [
                            {
                                "name": "registry",
                                "image": cluster.schema_registry_image,
                                "ports": [
                                    {"name": "http", "containerPort": 8080},
                                    {
                                        "name": "management",
                                        "containerPort": REGISTRY_MANAGEMENT_PORT,
                                    },
                                ],
                                "env": env,
                                "resources": kube.container_resources(cluster.schema_registry),
                                "readinessProbe": probe,
                                "livenessProbe": {
                                    **probe,
                                    "httpGet": {"path": "/health/live", "port": "management"},
                                },
                                "volumeMounts": [
                                    {
                                        "name": "kafka-ca",
                                        "mountPath": "/etc/kafka-ca",
                                        "readOnly": True,
                                    }
                                ],
                                # Quarkus writes to /tmp; the image runs as uid 185.
                                "securityContext": kube.restricted_container(read_only_root=False),
                            }
                        ],
                        "securityContext": kube.RESTRICTED_POD,
                        "volumes": [
                            {"name": "kafka-ca", "secret": {"secretName": CLUSTER_CA_SECRET}}
                        ],
                        "topologySpreadConstraints": kube.zone_spread(kube.selector(REGISTRY)),
                    },
                },
            },
            opts=opts,
        )
        k8s.core.v1.Service(
            REGISTRY,
            metadata=kube.metadata(REGISTRY, ns, "schema-registry", version),
            spec={
                "selector": kube.selector(REGISTRY),
                "ports": [{"name": "http", "port": 8080, "targetPort": "http"}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        kube.disruption_budget(REGISTRY, ns, "schema-registry", self)
        return deployment


def _registry_env() -> list[kube.Json]:
    """Apicurio stores schemas in a Kafka topic, logging in as its own SCRAM user."""
    return [
        {"name": "APICURIO_STORAGE_KIND", "value": "kafkasql"},
        {"name": "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS", "value": BOOTSTRAP_TLS},
        *({"name": name, "value": topic} for name, topic in REGISTRY_TOPICS.items()),
        {"name": "APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX", "value": REGISTRY_GROUP_PREFIX},
        {"name": "APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "APICURIO_KAFKA_COMMON_SASL_MECHANISM", "value": "SCRAM-SHA-512"},
        kube.secret_env("APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG", REGISTRY, "sasl.jaas.config"),
        {"name": "APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_TYPE", "value": "PEM"},
        {
            "name": "APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_LOCATION",
            "value": "/etc/kafka-ca/ca.crt",
        },
    ]
