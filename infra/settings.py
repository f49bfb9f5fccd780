"""The typed model of a whole stack: every `rtap:<section>` of `stacks/Pulumi.<stack>.yaml`.

StackSettings is the workload sections every process reads (workloads/settings.py) plus
the sections below, which only a deployment reads. None of these carries a default:
defaults are written once, in Pulumi.yaml, and the loader (core/stack_config.py) merges
them under the stack's values. The CLI and `pulumi up` load a stack through that one
loader into this one model; the rules across sections that a deployment must meet are in
infra/rules.py.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.settings import SettingsModel
from infra.images import pinned_image
from infra.loadtest_settings import LoadTestDeploymentSettings
from infra.sizes import QUANTITY, Resources
from workloads.settings import WorkloadSettings

IPV4 = 4
# Six /20 subnets (a public and a private one in each of three zones) need a /18.
LARGEST_VPC_PREFIX = 18
# family (letters, a generation digit, attribute letters) "." size, e.g. m6i.large,
# r7gd.2xlarge, c6in.metal, m7i-flex.xlarge
INSTANCE_TYPE = (
    r"^[a-z]+[0-9][a-z0-9]*(-flex)?\."
    r"(nano|micro|small|medium|large|metal|[0-9]*xlarge|metal-[0-9]+xl)$"
)
# A release number: charts, Kafka, Spark.
VERSION = r"^[0-9]+\.[0-9]+\.[0-9]+$"
JVM_MEMORY = r"^[0-9]+[kmg]$"


class NetworkSettings(SettingsModel):
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
    vpc_cidr: str
    nat_gateways: Literal["perZone", "single"]

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        network = ipaddress.ip_network(value, strict=True)
        if network.version != IPV4 or network.prefixlen > LARGEST_VPC_PREFIX:
            raise ValueError("needs an IPv4 block of /18 or larger (a /20 per subnet)")
        return value


class NodeGroupSettings(SettingsModel):
    instance_type: str = Field(pattern=INSTANCE_TYPE)
    min_per_zone: int = Field(ge=0, le=100)
    desired_per_zone: int = Field(ge=0, le=100)
    max_per_zone: int = Field(ge=1, le=100)
    disk_gib: int = Field(ge=20, le=16_384)

    @model_validator(mode="after")
    def _ordered(self) -> NodeGroupSettings:
        if not self.min_per_zone <= self.desired_per_zone <= self.max_per_zone:
            raise ValueError("needs minPerZone <= desiredPerZone <= maxPerZone")
        return self


class NodeGroups(SettingsModel):
    kafka: NodeGroupSettings
    clickhouse: NodeGroupSettings
    spark: NodeGroupSettings
    general: NodeGroupSettings


class NodePoolSettings(SettingsModel):
    """A Karpenter NodePool (eks mode): nodes made on demand for pods no node group fits."""

    instance_types: list[str] = Field(min_length=1, max_length=20)
    capacity_types: list[Literal["on-demand", "spot"]] = Field(min_length=1, max_length=2)
    # The most the pool may hold in all, over every zone.
    cpu_limit: int = Field(ge=1, le=10_000)
    memory_limit: str = Field(pattern=QUANTITY)
    disk_gib: int = Field(ge=20, le=16_384)
    # An EKS-optimized AMI family and version, as Karpenter's alias: al2023@v20250821, or
    # al2023@latest to follow AWS's releases (nodes then drift to each new AMI).
    ami_alias: str = Field(pattern=r"^(al2023|bottlerocket)@(latest|v[0-9][0-9.]*)$")
    # How long a node may stand empty before Karpenter removes it.
    consolidate_after: str = Field(pattern=r"^([0-9]+(s|m|h))+$")

    @field_validator("instance_types")
    @classmethod
    def _types(cls, types: list[str]) -> list[str]:
        wrong = [t for t in types if not re.fullmatch(INSTANCE_TYPE, t)]
        if wrong:
            raise ValueError(f"not EC2 instance types: {wrong}")
        return types


class ClusterSettings(SettingsModel):
    mode: Literal["eks", "existing"]
    zones: list[str] = Field(min_length=1, max_length=6)
    kubernetes_version: str = Field(pattern=r"^1\.(2[5-9]|3[0-7])$")
    kubeconfig: str
    context: str
    namespace: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    storage_class: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    ingress_class: str = Field(min_length=1)
    load_balancer_controller_chart_version: str = Field(pattern=VERSION)
    node_groups: NodeGroups
    # eks mode: Karpenter's chart, and its pool for the Spark executors beyond the spark
    # node groups' nodes.
    karpenter_chart_version: str = Field(pattern=VERSION)
    spark_node_pool: NodePoolSettings

    @field_validator("zones")
    @classmethod
    def _distinct(cls, zones: list[str]) -> list[str]:
        if len(set(zones)) != len(zones):
            raise ValueError("lists a zone twice")
        return zones


class ImageSettings(SettingsModel):
    producer: str
    streaming: str
    serving: str
    # The Locust master and workers of rtap:loadtest (docker/loadtest).
    loadtest: str

    _pinned = field_validator("producer", "streaming", "serving", "loadtest")(pinned_image)


class KafkaClusterSettings(SettingsModel):
    operator_chart_version: str = Field(pattern=VERSION)
    kafka_version: str = Field(pattern=VERSION)
    controllers: int = Field(ge=1, le=9)
    brokers: int = Field(ge=1, le=100)
    broker_storage_gib: int = Field(ge=1)
    controller_storage_gib: int = Field(ge=1)
    broker: Resources
    controller: Resources
    cruise_control: bool
    connect_replicas: int = Field(ge=1, le=20)
    connect: Resources
    schema_registry_image: str
    schema_registry_replicas: int = Field(ge=1, le=10)
    schema_registry: Resources

    _pinned = field_validator("schema_registry_image")(pinned_image)


class ClickHouseClusterSettings(SettingsModel):
    operator_chart_version: str = Field(pattern=VERSION)
    server_image: str
    keeper_image: str
    shards: int = Field(ge=1, le=64)
    replicas: int = Field(ge=1, le=6)
    keeper_replicas: int = Field(ge=1, le=7)
    storage_gib: int = Field(ge=1)
    keeper_storage_gib: int = Field(ge=1)
    server: Resources
    keeper: Resources
    cluster_name: str = Field(pattern=r"^[A-Za-z0-9_]{1,64}$")

    _pinned = field_validator("server_image", "keeper_image")(pinned_image)

    @field_validator("keeper_replicas")
    @classmethod
    def _odd_quorum(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("a Keeper quorum needs an odd number of members")
        return value


class RedisSettings(SettingsModel):
    image: str
    exporter_image: str
    replicas: int = Field(ge=1, le=9)
    persistence: bool
    storage_gib: int = Field(ge=1)
    node: Resources

    _pinned = field_validator("image", "exporter_image")(pinned_image)


class SparkDriver(SettingsModel):
    cores: int = Field(ge=1, le=64)
    memory: str = Field(pattern=JVM_MEMORY)


class SparkExecutor(SparkDriver):
    # The executors the job starts with (and its floor), and the most the driver's lag
    # scaler may ask for.
    instances: int = Field(ge=1, le=500)
    max_instances: int = Field(ge=1, le=500)

    @model_validator(mode="after")
    def _bounds(self) -> SparkExecutor:
        if self.max_instances < self.instances:
            raise ValueError("maxInstances is below instances")
        return self


# spark-operator runs spark-submit from the Spark in its own image (its Dockerfile's
# SPARK_IMAGE): Spark 3.5 up to 2.2.x, Spark 4.0 from 2.3.0 on. A Spark 4 application
# submitted by a Spark 3 client is silently wrong, so the two majors must agree.
SPARK_4 = 4
FIRST_SPARK_4_OPERATOR = (2, 3, 0)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class SparkSettings(SettingsModel):
    # Before operatorChartVersion: its check reads the Spark version.
    spark_version: str = Field(pattern=VERSION)
    operator_chart_version: str = Field(pattern=VERSION)
    driver: SparkDriver
    executor: SparkExecutor
    on_failure_retries: int = Field(ge=0, le=1000)
    on_failure_retry_interval_seconds: int = Field(ge=1, le=3600)
    checkpoint_uri: str = Field(pattern=r"^(s3a://[a-z0-9.-]{3,63}(/.*)?)?$")

    @field_validator("operator_chart_version")
    @classmethod
    def _submits_with_the_same_spark(cls, version: str, info: ValidationInfo) -> str:
        spark = info.data.get("spark_version")
        if spark is None:
            return version
        submits_spark_4 = _release(version) >= FIRST_SPARK_4_OPERATOR
        if (_release(spark)[0] >= SPARK_4) != submits_spark_4:
            submitter = "4.0" if submits_spark_4 else "3.5"
            raise ValueError(
                f"spark-operator {version} submits with Spark {submitter}, but sparkVersion"
                f" is {spark}: pin an operator whose Spark has the same major version"
                f" (Spark 4 needs {'.'.join(map(str, FIRST_SPARK_4_OPERATOR))} or later)"
            )
        return version


class ServingDeploymentSettings(SettingsModel):
    min_replicas: int = Field(ge=1, le=100)
    max_replicas: int = Field(ge=1, le=500)
    cpu_target_percent: int = Field(ge=10, le=95)
    # Data requests a second one replica should serve; KEDA adds replicas beyond it.
    requests_per_second_per_replica: int = Field(ge=1, le=100_000)
    host: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    api: Resources

    @model_validator(mode="after")
    def _range(self) -> ServingDeploymentSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError("maxReplicas is below minReplicas")
        return self


class AutoscalingSettings(SettingsModel):
    """The autoscalers' charts: KEDA (the API's ScaledObject), metrics-server (CPU) and
    the Vertical Pod Autoscaler (its controllers; the VPAs are the program's)."""

    keda_chart_version: str = Field(pattern=VERSION)
    metrics_server_chart_version: str = Field(pattern=VERSION)
    vpa_chart_version: str = Field(pattern=VERSION)


class MonitoringSettings(SettingsModel):
    """kube-prometheus-stack: the Prometheus operator, Prometheus, Alertmanager and Grafana."""

    chart_version: str = Field(pattern=VERSION)
    prometheus_replicas: int = Field(ge=1, le=5)
    retention_days: int = Field(ge=1, le=400)
    storage_gib: int = Field(ge=1)
    prometheus: Resources


class StackSettings(WorkloadSettings):
    """A whole stack: the workload sections plus the infrastructure a deployment builds."""

    network: NetworkSettings
    cluster: ClusterSettings
    images: ImageSettings
    kafka_cluster: KafkaClusterSettings
    clickhouse_cluster: ClickHouseClusterSettings
    redis: RedisSettings
    spark: SparkSettings
    serving_deployment: ServingDeploymentSettings
    monitoring: MonitoringSettings
    autoscaling: AutoscalingSettings
    loadtest: LoadTestDeploymentSettings

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"
