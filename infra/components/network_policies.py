"""NetworkPolicies of the platform's namespace: no pod takes a connection unless a policy
here names who may make it, and on which ports.

Kafka's pods are left to Strimzi, which writes a policy per listener for each Kafka and
KafkaConnect it runs (its STRIMZI_NETWORK_POLICY_GENERATION is on by default); they add
to the deny below, as NetworkPolicies do. Egress is not restricted yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components.clickhouse import HTTP_PORT, INSTALLATION, KEEPER
from infra.components.clickhouse import OPERATOR_NAMESPACE as CLICKHOUSE_OPERATOR
from infra.components.kafka_access import REGISTRY
from infra.components.loadtest import MASTER as LOADTEST_MASTER
from infra.components.loadtest import MASTER_PORT as LOADTEST_MASTER_PORT
from infra.components.loadtest import WORKERS as LOADTEST_WORKERS
from infra.components.monitoring import NAMESPACE as MONITORING
from infra.components.monitoring import targets
from infra.components.redis import METRICS_PORT as REDIS_METRICS_PORT
from infra.components.redis import NAME as REDIS
from infra.components.redis import PORT as REDIS_PORT
from infra.components.redis import SENTINEL_PORT
from infra.components.serving import NAME as API
from infra.components.serving import PORT as API_PORT
from infra.components.spark import APPLICATION as STREAMING

MIGRATIONS = "clickhouse-migrations"
CLICKHOUSE_NATIVE_PORT = 9000
CLICKHOUSE_INTERSERVER_PORT = 9009
KEEPER_CLIENT_PORT = 2181
KEEPER_RAFT_PORT = 9444
REGISTRY_PORT = 8080
# Metrics ports the monitors name: Strimzi's tcp-prometheus (Kafka and its exporter), the
# Redis exporter's and the API's.
NAMED_METRICS_PORTS = (9404, REDIS_METRICS_PORT, API_PORT)


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    """The platform's namespace (rtap:cluster.namespace), and whether rtap:loadtest runs
    Locust pods in it."""

    namespace: str
    load_test: bool = False


def pods(name: str) -> kube.Json:
    """A peer: the pods of one of rtap's workloads in the same namespace."""
    return {"podSelector": {"matchLabels": kube.selector(name)}}


def namespace_peer(namespace: str) -> kube.Json:
    """A peer: every pod of another namespace (an operator's)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def allowed_ingress(
    load_test: bool = False,
) -> dict[str, tuple[list[kube.Json] | None, list[int] | None]]:
    """Per workload: who may connect to its pods (None: anyone) and on which ports
    (None: any). With `load_test`, also the Locust pods of rtap:loadtest."""
    clients = [pods(API), pods(STREAMING)]
    locust = {LOADTEST_MASTER: ([pods(LOADTEST_WORKERS)], [LOADTEST_MASTER_PORT])}
    return {
        **(locust if load_test else {}),
        # Public through the Ingress (the load balancer sends from the VPC's addresses);
        # every data endpoint authenticates.
        API: (None, [API_PORT]),
        REDIS: ([*clients, pods(REDIS)], [REDIS_PORT, SENTINEL_PORT]),
        INSTALLATION: (
            [*clients, pods(MIGRATIONS), pods(INSTALLATION), namespace_peer(CLICKHOUSE_OPERATOR)],
            [HTTP_PORT, CLICKHOUSE_NATIVE_PORT, CLICKHOUSE_INTERSERVER_PORT],
        ),
        KEEPER: (
            [pods(INSTALLATION), pods(KEEPER), namespace_peer(CLICKHOUSE_OPERATOR)],
            [KEEPER_CLIENT_PORT, KEEPER_RAFT_PORT],
        ),
        # The driver and its executors talk on ports Spark picks.
        STREAMING: ([pods(STREAMING)], None),
        REGISTRY: ([{"podSelector": {}}], [REGISTRY_PORT]),
    }


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rtap:cluster:NetworkPolicies", name, None, opts)
        namespace = args.namespace
        k8s.networking.v1.NetworkPolicy(
            "default-deny-ingress",
            metadata=kube.metadata("default-deny-ingress", namespace, "network-policy"),
            spec={"podSelector": {}, "policyTypes": ["Ingress"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        for workload, (peers, ports) in allowed_ingress(args.load_test).items():
            rule: kube.Json = {}
            if peers is not None:
                rule["from"] = peers
            if ports is not None:
                rule["ports"] = [{"protocol": "TCP", "port": port} for port in ports]
            policy = f"allow-{workload}"
            k8s.networking.v1.NetworkPolicy(
                policy,
                metadata=kube.metadata(policy, namespace, "network-policy"),
                spec={
                    "podSelector": {"matchLabels": kube.selector(workload)},
                    "policyTypes": ["Ingress"],
                    "ingress": [rule],
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        # Prometheus scrapes every pod that has metrics, on its metrics port only.
        scraped = [t.port for t in targets() if isinstance(t.port, int)]
        k8s.networking.v1.NetworkPolicy(
            "allow-monitoring",
            metadata=kube.metadata("allow-monitoring", namespace, "network-policy"),
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [namespace_peer(MONITORING)],
                        "ports": [
                            {"protocol": "TCP", "port": port}
                            for port in (*scraped, *NAMED_METRICS_PORTS)
                        ],
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
