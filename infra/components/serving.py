"""The serving API: Deployment, Service, Ingress, HPA, disruption budget, zone spread.

Its settings come from the stack (a ConfigMap of the `serving` section); its secrets are
mounted from Secrets: the API key file, the JWT secret, the ClickHouse reader's and
Redis's passwords. One API key with both scopes is generated for the operator and
exported as a secret stack output.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components import k8s as kube
from infra.components.clickhouse import CREDENTIALS, HTTP_PORT, service_host
from infra.components.redis import AUTH_SECRET, MASTER_SET
from workloads.serving.auth import KEY_PREFIX, Scope

NAME = "rtap-api"
PORT = 8080
KEYS_SECRET = "api-keys"
KEYS_DIR = "/etc/rtap/keys"
OPERATOR_KEY_ID = "0000pulumi00"


@dataclass(frozen=True)
class ServingArgs(kube.PlatformArgs):
    redis_sentinels: str
    depends_on: list[pulumi.Resource]


def key_file(secret: str) -> str:
    """The API's key file holding one record: the operator key, stored hashed."""
    record = {
        "key_id": OPERATOR_KEY_ID,
        "name": "operator (pulumi)",
        "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
        "scopes": [scope.value for scope in Scope],
        "created_at": 0.0,
        "revoked_at": None,
    }
    return json.dumps({"keys": [record]})


class Serving(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:serving:Serving", name, None, opts)
        self._args = args
        ns = args.namespace
        key_secret = random.RandomPassword(
            "api-operator-key", length=43, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secret: pulumi.Output[str] = pulumi.Output.secret(key_secret.result)
        self.api_key: pulumi.Output[str] = pulumi.Output.concat(
            KEY_PREFIX, OPERATOR_KEY_ID, "_", secret
        )
        keys = k8s.core.v1.Secret(
            KEYS_SECRET,
            metadata=kube.metadata(KEYS_SECRET, ns, "api"),
            string_data={"keys.json": secret.apply(key_file)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        jwt, _ = kube.generated_secret("api-jwt", ns, "api", ["secret"], self)
        config = k8s.core.v1.ConfigMap(
            "api-settings",
            metadata=kube.metadata("api-settings", ns, "api"),
            data={"serving.json": self._serving_settings()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.deployment = k8s.apps.v1.Deployment(
            NAME,
            metadata=kube.metadata(NAME, ns, "api", kube.image_tag(args.settings.images.serving)),
            spec=self._deployment_spec(),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[keys, jwt, config, *args.depends_on]
            ),
        )
        self._service_and_ingress()
        self._autoscaling()
        kube.disruption_budget(NAME, ns, "api", self)
        self.register_outputs(
            {"host": args.settings.serving_deployment.host, "apiKey": self.api_key}
        )

    def _serving_settings(self) -> str:
        s = self._args.settings
        # ClickHouse servers have their own cores: no per-query thread cap (0).
        serving = s.serving.model_copy(update={"clickhouse_max_threads": 0})
        return json.dumps(
            {"serving": serving.model_dump(by_alias=True), "database": s.clickhouse.database}
        )

    def _container(self) -> kube.Json:
        s = self._args.settings
        probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5}
        return {
            "name": "api",
            "image": s.images.serving,
            "command": ["python", "-m", "workloads.serving"],
            "ports": [{"name": "http", "containerPort": PORT}],
            "env": [
                {"name": "RTAP_ENVIRONMENT", "value": s.environment},
                {"name": "RTAP_SERVING_SETTINGS_FILE", "value": "/etc/rtap/settings/serving.json"},
                {"name": "RTAP_KEYS_FILE", "value": f"{KEYS_DIR}/keys.json"},
                {
                    "name": "CLICKHOUSE_DSN",
                    "value": f"http://reader@{service_host(self._args.namespace)}:{HTTP_PORT}",
                },
                kube.secret_env("CLICKHOUSE_PASSWORD", CREDENTIALS, "reader"),
                {"name": "REDIS_SENTINELS", "value": self._args.redis_sentinels},
                {"name": "REDIS_MASTER_SET", "value": MASTER_SET},
                kube.secret_env("REDIS_PASSWORD", AUTH_SECRET, "password"),
                kube.secret_env("RTAP_JWT_SECRET", "api-jwt", "secret"),
            ],
            "resources": kube.container_resources(s.serving_deployment.api),
            "readinessProbe": probe,
            "livenessProbe": {**probe, "httpGet": {"path": "/healthz", "port": "http"}},
            "securityContext": {
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [
                {"name": "keys", "mountPath": KEYS_DIR, "readOnly": True},
                {"name": "settings", "mountPath": "/etc/rtap/settings", "readOnly": True},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }

    def _deployment_spec(self) -> kube.Json:
        s = self._args.settings
        return {
            # No replicas: the HPA owns the count (a value here would reset it on every up).
            "selector": {"matchLabels": kube.selector(NAME)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": kube.labels(NAME, "api", kube.image_tag(s.images.serving))},
                "spec": {
                    "containers": [self._container()],
                    "volumes": [
                        {
                            "name": "keys",
                            "secret": {"secretName": KEYS_SECRET, "defaultMode": 0o400},
                        },
                        {"name": "settings", "configMap": {"name": "api-settings"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                    "topologySpreadConstraints": kube.zone_spread(kube.selector(NAME)),
                    "nodeSelector": kube.role_node_selector(s, "general"),
                    "terminationGracePeriodSeconds": 30,
                },
            },
        }

    def _service_and_ingress(self) -> None:
        ns = self._args.namespace
        s = self._args.settings
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
            metadata=kube.metadata(NAME, ns, "api"),
            spec={
                "ingressClassName": s.cluster.ingress_class,
                "rules": [
                    {
                        "host": s.serving_deployment.host,
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
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _autoscaling(self) -> None:
        s = self._args.settings.serving_deployment
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            NAME,
            metadata=kube.metadata(NAME, self._args.namespace, "api"),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                "minReplicas": s.min_replicas,
                "maxReplicas": s.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": s.cpu_target_percent,
                            },
                        },
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
