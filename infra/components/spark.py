"""The Spark operator and the streaming job's SparkApplication.

Checkpoints go to S3 through the s3a connector; on EKS the driver and executors get
their S3 access from an IRSA role on the service account, so no AWS key exists anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from core.handoff import SETTINGS_FILE_VARIABLE
from infra.components import k8s as kube
from infra.components.clickhouse import CREDENTIALS, dsn
from infra.components.kafka import BOOTSTRAP_TLS, CLUSTER_CA_SECRET
from infra.components.redis import AUTH_SECRET, MASTER_SET
from infra.settings import SparkSettings

OPERATOR_NAMESPACE = "spark-operator"
# The operator's chart; rtap:spark.operatorChartVersion pins its version.
OPERATOR_CHART = "spark-operator"
# Its CRDs' folder in infra/upstream-crds (the program declares them: crds.py).
OPERATOR_CRDS = "spark-operator"
OPERATOR_CHART_REPOSITORY = "https://kubeflow.github.io/spark-operator"
SERVICE_ACCOUNT = "spark"
APPLICATION = "rtap-streaming"
METRICS_PORT = 8090
# s3a takes its credentials from the IRSA web identity token mounted into every pod.
WEB_IDENTITY_CREDENTIALS = (
    "software.amazon.awssdk.auth.credentials.WebIdentityTokenFileCredentialsProvider"
)


@dataclass(frozen=True)
class SparkArgs:
    """rtap:spark (operator, driver, executors, restarts), the job's image
    (rtap:images.streaming), where checkpoints go, and the services the job uses."""

    placement: kube.Placement
    spark: SparkSettings
    image: str
    checkpoint_uri: pulumi.Input[str]
    redis_sentinels: str
    # The ClickHouse users' passwords as they are now (clickhouse.credentials_version): a
    # new value changes the application, which the operator then restarts.
    clickhouse_credentials: pulumi.Input[str]
    # eks mode: the IRSA role the job's service account assumes (None elsewhere).
    role_arn: pulumi.Input[str] | None
    depends_on: list[pulumi.Resource]


class Spark(pulumi.ComponentResource):
    def __init__(self, name: str, args: SparkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:spark:Spark", name, None, opts)
        self._args = args
        s, namespace = args.spark, args.placement.namespace
        annotations = {"eks.amazonaws.com/role-arn": args.role_arn} if args.role_arn else {}
        self.operator = kube.operator_release(
            "spark-operator",
            kube.Chart(
                OPERATOR_CHART, OPERATOR_CHART_REPOSITORY, s.operator_chart_version, OPERATOR_CRDS
            ),
            OPERATOR_NAMESPACE,
            {
                "spark": {
                    "jobNamespaces": [namespace],
                    "serviceAccount": {
                        "create": True,
                        "name": SERVICE_ACCOUNT,
                        "annotations": annotations,
                    },
                },
                "controller": {"resources": kube.size("100m", "256Mi", "500m", "256Mi")},
                "webhook": {
                    "enable": True,
                    "resources": kube.size("50m", "128Mi", "250m", "128Mi"),
                },
                "prometheus": {"metrics": {"enable": True}},
            },
            self,
        )
        self.application = kube.custom_resource(
            "streaming-application",
            api_version="sparkoperator.k8s.io/v1beta2",
            kind="SparkApplication",
            metadata=kube.metadata(APPLICATION, namespace, "streaming", s.spark_version),
            spec=self._spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.operator, *args.depends_on]),
        )
        # The job keeps its checkpoints and staged session input under this URI.
        self.register_outputs({"application": APPLICATION, "checkpoints": args.checkpoint_uri})

    def _pod_common(self) -> kube.Json:
        """What the driver and the executors share: identity, placement, settings and
        credentials (from Secrets)."""
        s = self._args.spark
        pod_labels = kube.labels(APPLICATION, "streaming", s.spark_version)
        return {
            "labels": pod_labels,
            "annotations": {kube.CLICKHOUSE_CREDENTIALS: self._args.clickhouse_credentials},
            "serviceAccount": SERVICE_ACCOUNT,
            "tolerations": kube.role_tolerations("spark"),
            "nodeSelector": kube.role_node_selector(self._args.placement, "spark"),
            "configMaps": [{"name": kube.SETTINGS_CONFIG_MAP, "path": kube.SETTINGS_DIR}],
            # `env` (EnvVars, secrets by secretKeyRef): the operator deprecated envVars
            # and envSecretKeyRefs in its favour.
            "env": [
                {
                    "name": SETTINGS_FILE_VARIABLE,
                    "value": f"{kube.SETTINGS_DIR}/{kube.SETTINGS_KEY}",
                },
                {"name": "KAFKA_BOOTSTRAP", "value": BOOTSTRAP_TLS},
                {"name": "KAFKA_USERNAME", "value": "streaming"},
                {"name": "KAFKA_CA_FILE", "value": "/etc/kafka-ca/ca.crt"},
                {"name": "CLICKHOUSE_DSN", "value": dsn("writer", self._args.placement.namespace)},
                {"name": "REDIS_SENTINELS", "value": self._args.redis_sentinels},
                {"name": "REDIS_MASTER_SET", "value": MASTER_SET},
                {"name": "RTAP_CHECKPOINT_URI", "value": self._args.checkpoint_uri},
                {"name": "EXECUTOR_CORES", "value": str(s.executor.cores)},
                # The lag scaler's bounds (workloads/streaming/lag_scaler.py).
                {"name": "RTAP_EXECUTORS_MIN", "value": str(s.executor.instances)},
                {"name": "RTAP_EXECUTORS_MAX", "value": str(s.executor.max_instances)},
                kube.secret_env("KAFKA_PASSWORD", "streaming", "password"),
                kube.secret_env("CLICKHOUSE_PASSWORD", CREDENTIALS, "writer"),
                kube.secret_env("REDIS_PASSWORD", AUTH_SECRET, "password"),
            ],
            "secrets": [
                {"name": CLUSTER_CA_SECRET, "path": "/etc/kafka-ca", "secretType": "Generic"}
            ],
        }

    def _spec(self) -> kube.Json:
        s = self._args.spark
        common = self._pod_common()
        return {
            "type": "Python",
            "pythonVersion": "3",
            "mode": "cluster",
            "image": self._args.image,
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": "local:///opt/rtap/workloads/streaming/__main__.py",
            "sparkVersion": s.spark_version,
            "sparkConf": {
                "spark.hadoop.fs.s3a.aws.credentials.provider": WEB_IDENTITY_CREDENTIALS,
                "spark.sql.shuffle.partitions": str(
                    max(2, s.executor.instances * s.executor.cores)
                ),
                "spark.ui.prometheus.enabled": "true",
            },
            "restartPolicy": {
                "type": "OnFailure",
                "onFailureRetries": s.on_failure_retries,
                "onFailureRetryInterval": s.on_failure_retry_interval_seconds,
                "onSubmissionFailureRetries": 5,
                "onSubmissionFailureRetryInterval": 20,
            },
            "driver": {
                **common,
                # Not spark.driver.extraJavaOptions: with exposeDriverMetrics the operator
                # passes its javaagent as a later extraJavaOptions, which would replace
                # it; javaOptions is what the operator appends its agent to.
                # -Xss8m: query.stop() once overflowed the stream thread's default stack.
                "javaOptions": "-Xss8m",
                "cores": s.driver.cores,
                "coreLimit": str(s.driver.cores),
                "memory": s.driver.memory,
            },
            "executor": {
                **common,
                "instances": s.executor.instances,
                "cores": s.executor.cores,
                "coreLimit": str(s.executor.cores),
                "memory": s.executor.memory,
            },
            "monitoring": {
                "exposeDriverMetrics": True,
                "exposeExecutorMetrics": True,
                "prometheus": {
                    "jmxExporterJar": "/opt/spark/jars/jmx_prometheus_javaagent.jar",
                    "port": METRICS_PORT,
                },
            },
        }
