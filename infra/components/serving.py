"""The serving API: Deployment, Service, Ingress, autoscaling (KEDA), disruption budget,
zone spread.

Its settings come from the stack (the rtap-settings ConfigMap); its secrets are
mounted from Secrets: the API key file, the JWT secret, the ClickHouse reader's and
Redis's passwords. One API key with both scopes is generated for the operator and
exported as a secret stack output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components import k8s as kube
from infra.components.clickhouse import CREDENTIALS, dsn
from infra.components.redis import AUTH_SECRET, MASTER_SET
from infra.components.vertical_scaling import VpaTarget
from infra.settings import ServingDeploymentSettings
from workloads import telemetry as t
from workloads.serving.auth import Scope, key_file, key_record, key_token

NAME = "rtap-api"
PORT = 8080
KEYS_SECRET = "api-keys"
KEYS_DIR = "/etc/rtap/keys"
OPERATOR_KEY_ID = "0000pulumi00"


@dataclass(frozen=True)
class ServingArgs:
    """rtap:servingDeployment (replicas, autoscaling, host, size), the API's image
    (rtap:images.serving), the Ingress class (rtap:cluster.ingressClass), and the services
    the API reads."""

    placement: kube.Placement
    deployment: ServingDeploymentSettings
    image: str
    ingress_class: str
    # What the Ingress controller reads from the Ingress (load_balancer.ingress_annotations),
    # and the controller the program installs, if it does: its webhook admits Ingresses.
    ingress_annotations: dict[str, str]
    ingress_controller: list[pulumi.Resource]
    redis_sentinels: str
    # The ClickHouse users' passwords as they are now (clickhouse.credentials_version).
    clickhouse_credentials: pulumi.Input[str]
    depends_on: list[pulumi.Resource]
    # KEDA (autoscaling.py), whose ScaledObject CRD the API's autoscaling needs, and the
    # Prometheus it asks for the request rate (monitoring.py).
    autoscaler: pulumi.Resource
    prometheus_url: str
    # Read-only keys for the Locust pods of rtap:loadtest (0 when it is off): enough for
    # each to stay within its share of the per-key rate limit.
    load_test_keys: int = 0


def load_test_key_id(index: int) -> str:
    return f"0000loadt{index:03d}"


def operator_key_file(secret: str, load_test_secrets: Sequence[str] = ()) -> str:
    """The API's key file: the operator key, and the load test's read-only keys, stored
    hashed."""
    operator = key_record(OPERATOR_KEY_ID, "operator (pulumi)", secret, list(Scope), 0.0)
    readers = [
        key_record(load_test_key_id(i), f"loadtest {i}", one, list(Scope), 0.0)
        for i, one in enumerate(load_test_secrets)
    ]
    return key_file([operator, *readers])


class Serving(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:serving:Serving", name, None, opts)
        self._args = args
        ns = args.placement.namespace
        key_secret = random.RandomPassword(
            "api-operator-key", length=43, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secret: pulumi.Output[str] = pulumi.Output.secret(key_secret.result)
        self.api_key: pulumi.Output[str] = secret.apply(lambda s: key_token(OPERATOR_KEY_ID, s))
        load_test = [
            random.RandomPassword(
                f"api-loadtest-key-{i}",
                length=43,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            ).result
            for i in range(args.load_test_keys)
        ]
        all_load_test: pulumi.Output[list[str]] = pulumi.Output.all(*load_test).apply(list)
        load_test_secrets: pulumi.Output[list[str]] = pulumi.Output.secret(all_load_test)
        # The tokens the Locust pods present (infra/components/loadtest.py).
        self.load_test_tokens: pulumi.Output[list[str]] = load_test_secrets.apply(
            lambda secrets: [key_token(load_test_key_id(i), s) for i, s in enumerate(secrets)]
        )
        keys = k8s.core.v1.Secret(
            KEYS_SECRET,
            metadata=kube.metadata(KEYS_SECRET, ns, "api"),
            string_data={
                "keys.json": pulumi.Output.all(secret, load_test_secrets).apply(
                    lambda both: operator_key_file(both[0], both[1])
                )
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        jwt, _ = kube.generated_secret("api-jwt", ns, "api", ["secret"], self)
        self.deployment = k8s.apps.v1.Deployment(
            NAME,
            metadata=kube.metadata(NAME, ns, "api", kube.image_tag(args.image)),
            spec=self._deployment_spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[keys, jwt, *args.depends_on]),
        )
        self._service_and_ingress()
        self._autoscaling()
        kube.disruption_budget(NAME, ns, "api", self)
        # KEDA scales the API out on CPU, so its VPA sizes memory only.
        self.vertical_targets = [
            VpaTarget(
                "apps/v1",
                "Deployment",
                NAME,
                stateful=False,
                size=args.deployment.api,
                controlled=("memory",),
            )
        ]
        self.register_outputs({"host": args.deployment.host, "apiKey": self.api_key})

    def _container(self) -> kube.Json:
        args = self._args
        settings_env, _, settings_mount = kube.settings_mount()
        probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5}
        return {
            "name": "api",
            "image": args.image,
            "command": ["python", "-m", "workloads.serving"],
            "ports": [{"name": "http", "containerPort": PORT}],
            "env": [
                settings_env,
                {"name": "RTAP_KEYS_FILE", "value": f"{KEYS_DIR}/keys.json"},
                {"name": "CLICKHOUSE_DSN", "value": dsn("reader", args.placement.namespace)},
                kube.secret_env("CLICKHOUSE_PASSWORD", CREDENTIALS, "reader"),
                {"name": "REDIS_SENTINELS", "value": args.redis_sentinels},
                {"name": "REDIS_MASTER_SET", "value": MASTER_SET},
                kube.secret_env("REDIS_PASSWORD", AUTH_SECRET, "password"),
                kube.secret_env("RTAP_JWT_SECRET", "api-jwt", "secret"),
            ],
            "resources": kube.container_resources(args.deployment.api),
            "readinessProbe": probe,
            "livenessProbe": {**probe, "httpGet": {"path": "/healthz", "port": "http"}},
            "securityContext": kube.restricted_container(),
            "volumeMounts": [
                {"name": "keys", "mountPath": KEYS_DIR, "readOnly": True},
                settings_mount,
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }

    def _deployment_spec(self) -> kube.Json:
        args = self._args
        return {
            # No replicas: the HPA owns the count (a value here would reset it on every up).
            "selector": {"matchLabels": kube.selector(NAME)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": kube.labels(NAME, "api", kube.image_tag(args.image)),
                    "annotations": {kube.CLICKHOUSE_CREDENTIALS: args.clickhouse_credentials},
                },
                "spec": {
                    "securityContext": kube.RESTRICTED_POD,
                    "containers": [self._container()],
                    "volumes": [
                        {
                            "name": "keys",
                            "secret": {"secretName": KEYS_SECRET, "defaultMode": 0o400},
                        },
                        kube.settings_mount()[1],
                        {"name": "tmp", "emptyDir": {}},
                    ],
                    "topologySpreadConstraints": kube.zone_spread(kube.selector(NAME)),
                    "nodeSelector": kube.role_node_selector(args.placement, "general"),
                    "terminationGracePeriodSeconds": 30,
                },
            },
        }

    def _service_and_ingress(self) -> None:
        ns = self._args.placement.namespace
        k8s.core.v1.Service(
            NAME,
            metadata=kube.metadata(NAME, ns, "api"),
            spec={
                "selector": kube.selector(NAME),
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.networking.v1.Ingress(
            NAME,
            metadata={
                **kube.metadata(NAME, ns, "api"),
                "annotations": self._args.ingress_annotations,
            },
            spec={
                "ingressClassName": self._args.ingress_class,
                # HTTPS for the host: the controller terminates TLS with its certificate
                # (on EKS, the one ACM holds for that name).
                "tls": [{"hosts": [self._args.deployment.host]}],
                "rules": [
                    {
                        "host": self._args.deployment.host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": NAME, "port": {"name": "http"}}
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._args.ingress_controller),
        )

    def _autoscaling(self) -> None:
        """A KEDA ScaledObject, which owns the API's HPA: CPU (read through metrics-server)
        and the data requests a second Prometheus counts, whichever wants more replicas."""
        s, namespace = self._args.deployment, self._args.placement.namespace
        requests = (
            f'sum(rate({t.HTTP_REQUEST_DURATION}_count{{namespace="{namespace}",'
            f'job="{NAME}",route=~"{t.DATA_ROUTES}"}}[1m]))'
        )
        kube.custom_resource(
            NAME,
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=kube.metadata(NAME, namespace, "api"),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                "minReplicaCount": s.min_replicas,
                "maxReplicaCount": s.max_replicas,
                "advanced": {
                    "horizontalPodAutoscalerConfig": {
                        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}
                    }
                },
                "triggers": [
                    {
                        "type": "cpu",
                        "metricType": "Utilization",
                        "metadata": {"value": str(s.cpu_target_percent)},
                    },
                    {
                        "type": "prometheus",
                        "metadata": {
                            "serverAddress": self._args.prometheus_url,
                            "query": requests,
                            "threshold": str(s.requests_per_second_per_replica),
                        },
                    },
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._args.autoscaler]),
        )
