"""rtap:loadtest: the suites of loadtests/ in Locust's distributed mode, inside the
stack's namespace: a master Job that shapes the run and judges it against the stack's
`sla` block, and a Job of workers that make the requests and produce the events.

The pods run the loadtest image (`python -m loadtests`, docker/loadtest) and are told
everything through the environment: Locust's own LOCUST_* variables and the suite's
LOCUST_RTAP_* ones (loadtests/suites/options.py), the settings file, and the Kafka login
(workloads/cluster_env.py). The workers log in to Kafka as the `producer` user: they do
what the producer does, under its ACLs. The API keys are the API's own read-only keys
for the load test (serving.py), mounted from a Secret.

A run is the pair of Jobs named after rtap:loadtest.run; Jobs run once, so a new value
starts a new run, and the finished one stays for its logs. `pulumi up` does not wait for
the run: the master's log ends with the verdict, and its exit code is the verdict's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components.kafka import BOOTSTRAP_TLS, CLUSTER_CA_SECRET
from infra.components.serving import NAME as API
from infra.loadtest_settings import LoadTestDeploymentSettings
from infra.sizes import Resources

MASTER = "rtap-loadtest-master"
WORKERS = "rtap-loadtest-workers"
MASTER_PORT = 5557
KEYS_SECRET = "loadtest-keys"
KEYS_DIR = "/etc/rtap/loadtest"
KAFKA_CA_DIR = "/etc/kafka-ca"
KAFKA_USER = "producer"
# How long the master waits for all its workers, and a run may take beyond its own
# length (image pulls, scheduling, the open model's drain) before Kubernetes ends it.
_WAIT_FOR_WORKERS_S = 600
_SLACK_S = 900
# Pulumi would otherwise wait for each Job to complete, holding `pulumi up` for the run.
_SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


@dataclass(frozen=True)
class LoadTestArgs:
    """rtap:loadtest, its image (rtap:images.loadtest), the open model's rate (resolved:
    rtap:loadtest.rate, or sla.loadTestRate when it is 0), and the API's load-test
    tokens (a secret)."""

    placement: kube.Placement
    loadtest: LoadTestDeploymentSettings
    image: str
    rate: float
    api_tokens: pulumi.Output[list[str]]
    depends_on: list[pulumi.Resource]


def suite_environment(loadtest: LoadTestDeploymentSettings, rate: float) -> list[kube.Json]:
    """The suite's options (LOCUST_RTAP_*), the same for the master and every worker."""
    options = {
        "SHAPE": loadtest.shape,
        "DURATION": loadtest.duration_seconds,
        "WARMUP": loadtest.warmup_seconds,
        "VIEWERS": loadtest.viewers,
        # One arrival user per worker: each offers its share of the rate.
        "ARRIVAL_USERS": loadtest.workers,
        "RATE": rate,
        "INGEST_RATE": loadtest.ingest_rate,
        "KEYS_FILE": f"{KEYS_DIR}/keys.json",
    }
    return [{"name": f"LOCUST_RTAP_{key}", "value": str(value)} for key, value in options.items()]


class LoadTest(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadTestArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:loadtest:LoadTest", name, None, opts)
        self._args = args
        ns = args.placement.namespace
        keys = k8s.core.v1.Secret(
            KEYS_SECRET,
            metadata=kube.metadata(KEYS_SECRET, ns, "loadtest"),
            string_data={"keys.json": args.api_tokens.apply(json.dumps)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.core.v1.Service(
            MASTER,
            metadata=kube.metadata(MASTER, ns, "loadtest"),
            spec={
                "selector": kube.selector(MASTER),
                "ports": [{"name": "locust", "port": MASTER_PORT, "targetPort": "locust"}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[keys, *args.depends_on])
        run = args.loadtest.run
        self.master = self._job(f"rtap-loadtest-{run}-master", self._master(), 1, after)
        self.workers = self._job(
            f"rtap-loadtest-{run}-workers", self._worker(), args.loadtest.workers, after
        )
        self.register_outputs({"masterJob": self.master.metadata["name"]})

    def _master(self) -> kube.Json:
        args = self._args
        locust = {
            "LOCUST_MODE_MASTER": "true",
            "LOCUST_HEADLESS": "true",
            "LOCUST_ONLY_SUMMARY": "true",
            "LOCUST_EXPECT_WORKERS": str(args.loadtest.workers),
            "LOCUST_EXPECT_WORKERS_MAX_WAIT": str(_WAIT_FOR_WORKERS_S),
            "LOCUST_HOST": f"http://{API}.{args.placement.namespace}.svc",
            # The master produces nothing; it only checks that the workers can.
            "KAFKA_BOOTSTRAP": BOOTSTRAP_TLS,
        }
        container = self._container(locust, args.loadtest.master)
        container["ports"] = [{"name": "locust", "containerPort": MASTER_PORT}]
        return self._pod(MASTER, container)

    def _worker(self) -> kube.Json:
        locust = {
            "LOCUST_MODE_WORKER": "true",
            "LOCUST_MASTER_NODE_HOST": MASTER,
            "LOCUST_MASTER_NODE_PORT": str(MASTER_PORT),
            "KAFKA_BOOTSTRAP": BOOTSTRAP_TLS,
            "KAFKA_USERNAME": KAFKA_USER,
            "KAFKA_CA_FILE": f"{KAFKA_CA_DIR}/ca.crt",
        }
        container = self._container(locust, self._args.loadtest.worker)
        container["env"].append(kube.secret_env("KAFKA_PASSWORD", KAFKA_USER, "password"))
        container["volumeMounts"].append(
            {"name": "kafka-ca", "mountPath": KAFKA_CA_DIR, "readOnly": True}
        )
        ca = {"secretName": CLUSTER_CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        return self._pod(WORKERS, container, {"name": "kafka-ca", "secret": ca})

    def _container(self, locust: dict[str, str], size: Resources) -> kube.Json:
        args = self._args
        settings_env, _, settings_mount = kube.settings_mount()
        return {
            "name": "locust",
            "image": args.image,
            "env": [
                settings_env,
                *({"name": key, "value": value} for key, value in locust.items()),
                *suite_environment(args.loadtest, args.rate),
            ],
            "resources": kube.container_resources(size),
            "securityContext": kube.restricted_container(),
            "volumeMounts": [
                {"name": "keys", "mountPath": KEYS_DIR, "readOnly": True},
                settings_mount,
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }

    def _pod(self, name: str, container: kube.Json, *extra_volumes: kube.Json) -> kube.Json:
        volumes: list[kube.Json] = [
            {"name": "keys", "secret": {"secretName": KEYS_SECRET, "defaultMode": 0o400}},
            kube.settings_mount()[1],
            {"name": "tmp", "emptyDir": {}},
            *extra_volumes,
        ]
        return {
            "metadata": {"labels": kube.labels(name, "loadtest", kube.image_tag(self._args.image))},
            "spec": {
                "securityContext": kube.RESTRICTED_POD,
                "containers": [container],
                "volumes": volumes,
                "nodeSelector": kube.role_node_selector(self._args.placement, "general"),
                "restartPolicy": "Never",
            },
        }

    def _job(
        self, name: str, template: kube.Json, pods: int, opts: pulumi.ResourceOptions
    ) -> k8s.batch.v1.Job:
        loadtest = self._args.loadtest
        deadline = loadtest.warmup_seconds + loadtest.duration_seconds + _SLACK_S
        return k8s.batch.v1.Job(
            name,
            metadata={
                **kube.metadata(name, self._args.placement.namespace, "loadtest"),
                "annotations": _SKIP_AWAIT,
            },
            spec={
                "parallelism": pods,
                "completions": pods,
                # A failed master is a verdict (or a broken run), never something to
                # retry: a second attempt would load the stack twice over.
                "backoffLimit": 0,
                "activeDeadlineSeconds": deadline,
                "template": template,
            },
            opts=opts,
        )
