"""The rtap platform on Kubernetes: wiring only. Settings come from infra/config.py and
are complete and valid before the first resource is declared; each component gets the
sections it reads, and nothing else."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.components import k8s as kube
from infra.components import load_balancer
from infra.components.autoscaling import Autoscalers, AutoscalingArgs
from infra.components.clickhouse import ClickHouse, ClickHouseArgs
from infra.components.eks import EksArgs, EksCluster
from infra.components.existing import ExistingCluster, ExistingClusterArgs
from infra.components.kafka import Kafka, KafkaArgs
from infra.components.kafka_access import KafkaAccess, KafkaAccessArgs
from infra.components.karpenter import Karpenter, KarpenterArgs
from infra.components.load_balancer import LoadBalancerController, LoadBalancerControllerArgs
from infra.components.loadtest import LoadTest, LoadTestArgs
from infra.components.monitoring import PROMETHEUS_URL, Monitoring, MonitoringArgs
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.network import Network, NetworkArgs
from infra.components.network_policies import NetworkPolicies, NetworkPoliciesArgs
from infra.components.redis import Redis, RedisArgs
from infra.components.serving import Serving, ServingArgs
from infra.components.spark import Spark, SparkArgs
from infra.components.vertical_scaling import VerticalScaling, VerticalScalingArgs
from infra.config import load_settings
from workloads.serving.auth import load_test_keys_needed

settings = load_settings()
cluster_name = f"rtap-{pulumi.get_stack()}"
zones = settings.cluster.zones

cluster: EksCluster | ExistingCluster
# The Ingress controller the program installs (eks mode), and what the API's Ingress tells it.
ingress_controller: list[pulumi.Resource] = []
api_ingress_annotations: dict[str, str] = {}
if settings.cluster.mode == "eks":
    region = settings.network.region
    aws_provider = aws.Provider("aws", region=region)
    on_aws = pulumi.ResourceOptions(providers=[aws_provider])
    network = Network("network", NetworkArgs(settings.network, zones, cluster_name), on_aws)
    cluster = EksCluster(
        "cluster", EksArgs(settings.cluster, region, cluster_name, network), on_aws
    )
    controller_role = cluster.irsa_role(
        "load-balancer-controller",
        load_balancer.NAMESPACE,
        load_balancer.SERVICE_ACCOUNT,
        inline_policy=load_balancer.iam_policy(),
    )
    controller = LoadBalancerController(
        "load-balancer-controller",
        LoadBalancerControllerArgs(
            chart_version=settings.cluster.load_balancer_controller_chart_version,
            ingress_class=settings.cluster.ingress_class,
            cluster_name=cluster.cluster.name,
            region=region,
            vpc_id=network.vpc.id,
            role_arn=controller_role.arn,
        ),
        pulumi.ResourceOptions(providers=[cluster.provider]),
    )
    ingress_controller = [controller]
    api_ingress_annotations = load_balancer.ingress_annotations()
    Karpenter(
        "karpenter",
        KarpenterArgs(
            chart_version=settings.cluster.karpenter_chart_version,
            pool=settings.cluster.spark_node_pool,
            zones=zones,
            region=region,
            cluster_name=cluster_name,
            eks=cluster,
            subnet_ids=[subnet.id for subnet in network.private_subnets],
        ),
        pulumi.ResourceOptions(providers=[cluster.provider, aws_provider]),
    )
else:
    cluster = ExistingCluster(
        "cluster", ExistingClusterArgs(settings.cluster, settings.spark.checkpoint_uri)
    )

placement = kube.Placement.of(settings.cluster)
namespace = PlatformNamespace(
    "namespace",
    NamespaceArgs(placement.namespace, kube.workload_settings_json(settings)),
    pulumi.ResourceOptions(providers=[cluster.provider]),
)
in_namespace = pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[namespace])

NetworkPolicies(
    "network-policies",
    NetworkPoliciesArgs(placement.namespace, load_test=settings.loadtest.enabled),
    in_namespace,
)
kafka = Kafka("kafka", KafkaArgs(placement, settings.kafka, settings.kafka_cluster), in_namespace)
access = KafkaAccess(
    "kafka-access",
    KafkaAccessArgs(placement.namespace, settings.kafka, settings.kafka_cluster, after=kafka),
    in_namespace,
)
clickhouse = ClickHouse(
    "clickhouse",
    ClickHouseArgs(
        placement,
        settings.clickhouse,
        settings.clickhouse_cluster,
        migrations_image=settings.images.serving,
    ),
    in_namespace,
)
redis = Redis("redis", RedisArgs(placement, settings.redis), in_namespace)
spark = Spark(
    "spark",
    SparkArgs(
        placement,
        settings.spark,
        image=settings.images.streaming,
        checkpoint_uri=cluster.checkpoint_uri,
        redis_sentinels=redis.sentinels,
        clickhouse_credentials=clickhouse.credentials_version,
        role_arn=cluster.spark_role_arn,
        # The topics, the job's Kafka user and its Secret, the schema, and Redis: each
        # awaited until ready, not only created.
        depends_on=[kafka, access, clickhouse, redis],
    ),
    in_namespace,
)
autoscalers = Autoscalers(
    "autoscaling",
    AutoscalingArgs(settings.autoscaling),
    pulumi.ResourceOptions(providers=[cluster.provider]),
)
load_test_rate = settings.loadtest.rate or settings.sla.load_test_rate
serving = Serving(
    "serving",
    ServingArgs(
        placement,
        settings.serving_deployment,
        image=settings.images.serving,
        ingress_class=settings.cluster.ingress_class,
        ingress_annotations=api_ingress_annotations,
        ingress_controller=ingress_controller,
        redis_sentinels=redis.sentinels,
        clickhouse_credentials=clickhouse.credentials_version,
        depends_on=[clickhouse, redis],
        autoscaler=autoscalers.keda,
        prometheus_url=PROMETHEUS_URL,
        load_test_keys=load_test_keys_needed(load_test_rate, settings.serving.rate_limit_per_minute)
        if settings.loadtest.enabled
        else 0,
    ),
    in_namespace,
)
if settings.loadtest.enabled:
    LoadTest(
        "loadtest",
        LoadTestArgs(
            placement,
            settings.loadtest,
            image=settings.images.loadtest,
            rate=load_test_rate,
            api_tokens=serving.load_test_tokens,
            # The API it loads and the brokers (and producer user) its workers produce to.
            depends_on=[serving, kafka, access],
        ),
        in_namespace,
    )

Monitoring("monitoring", MonitoringArgs(placement, settings.monitoring, settings), in_namespace)
VerticalScaling(
    "vertical-scaling",
    VerticalScalingArgs(
        placement.namespace,
        targets=[
            *kafka.vertical_targets,
            *access.vertical_targets,
            *clickhouse.vertical_targets,
            *redis.vertical_targets,
            *serving.vertical_targets,
        ],
        after=autoscalers.vpa,
    ),
    in_namespace,
)

pulumi.export("environment", settings.environment)
pulumi.export("namespace", settings.cluster.namespace)
pulumi.export("zones", zones)
pulumi.export("kafkaBootstrap", kafka.bootstrap)
pulumi.export("apiHost", settings.serving_deployment.host)
pulumi.export("apiKey", serving.api_key)
pulumi.export("checkpointUri", cluster.checkpoint_uri)
