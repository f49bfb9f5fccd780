"""Disruption budgets, secrets and the two cluster modes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from rtap.render.mocks import SECRET_MARKER
from rtap.render.program import SECRET_SIG, Rendered, render
from tests.unit.infra.conftest import PROJECT, STACKS, with_changes
from workloads.kafka import STREAMING_GROUP_PREFIX, dead_letter_transactional_id

Render = Callable[[str], Rendered]


def _of_kind(rendered: Rendered, kind: str) -> list[dict[str, Any]]:
    return [m for m in rendered.manifests if m["kind"] == kind]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stateful_workload_has_a_disruption_budget(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    (kafka,) = _of_kind(result, "Kafka")
    assert kafka["spec"]["kafka"]["template"]["podDisruptionBudget"]["maxUnavailable"] == 1
    (connect,) = _of_kind(result, "KafkaConnect")
    assert connect["spec"]["template"]["podDisruptionBudget"]["maxUnavailable"] == 1
    for kind in ("ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        for obj in _of_kind(result, kind):
            for cluster in obj["spec"]["configuration"]["clusters"]:
                assert cluster["pdbMaxUnavailable"] == 1, kind
    (redis,) = [r for r in result.helm_releases if r["name"] == "redis"]
    assert redis["values"]["replica"]["pdb"] == {"create": True, "maxUnavailable": 1}
    budgets = [
        p["spec"]["selector"]["matchLabels"] for p in _of_kind(result, "PodDisruptionBudget")
    ]
    for deployment in _of_kind(result, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector in budgets, deployment["metadata"]["name"]


def _leaks(value: Any, path: str = "") -> list[str]:
    """Paths where a generated password appears outside a Pulumi secret."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) is not None:
            return []
        return [leak for k, v in value.items() for leak in _leaks(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leak for i, v in enumerate(value) for leak in _leaks(v, f"{path}[{i}]")]
    if isinstance(value, str) and SECRET_MARKER in value:
        return [path]
    return []


@pytest.mark.parametrize("stack", STACKS)
def test_no_generated_secret_appears_in_plaintext(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    secrets_seen = 0
    leaks = []
    for token, name, inputs in result.raw:
        if token == "random:index/randomPassword:RandomPassword":
            continue
        leaks += [f"{token} {name}{path}" for path in _leaks(inputs)]
        secrets_seen += str(inputs).count(SECRET_SIG)
    assert not leaks, leaks
    # The passwords do reach the cluster, but only as secrets: Kafka SCRAM users get theirs
    # from Strimzi, ClickHouse, Redis, the JWT key and the API key file from these.
    assert secrets_seen >= 4
    secret_objects = {m["metadata"]["name"] for m in _of_kind(result, "Secret")}
    assert secret_objects == {"clickhouse-credentials", "redis-auth", "api-keys", "api-jwt"}
    for secret in _of_kind(result, "Secret"):
        assert set(secret["stringData"].values()) == {"<secret>"}, secret["metadata"]["name"]


def _secret_like_keys(value: Any, path: str = "") -> list[str]:
    """Keys named like credentials whose value is not a Pulumi `secure:` ciphertext."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if re.search(r"password|secret|token|apikey|credential", str(key), re.I) and not (
                isinstance(item, dict) and set(item) == {"secure"}
            ):
                found.append(here)
            found += _secret_like_keys(item, here)
    return found


@pytest.mark.parametrize("stack", [*STACKS, "local"])
def test_stack_files_hold_no_plaintext_secret(stack: str) -> None:
    document = yaml.safe_load((PROJECT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    assert _secret_like_keys(document) == []
    assert _secret_like_keys({"db": {"password": "x"}}) == ["db.password"]
    assert _secret_like_keys({"db": {"password": {"secure": "v1:abc"}}}) == []


def test_workloads_read_credentials_from_secrets(rendered: Render) -> None:
    (api,) = [
        d for d in _of_kind(rendered("prod"), "Deployment") if d["metadata"]["name"] == "rtap-api"
    ]
    env = {e["name"]: e for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    for variable in ("CLICKHOUSE_PASSWORD", "REDIS_PASSWORD", "RTAP_JWT_SECRET"):
        assert "secretKeyRef" in env[variable]["valueFrom"], variable
    (chi,) = _of_kind(rendered("prod"), "ClickHouseInstallation")
    users = chi["spec"]["configuration"]["users"]
    assert users["reader/k8s_secret_password"] == "clickhouse-credentials/reader"
    assert not any(k.endswith("/password") for k in users)


def _aws(rendered: Rendered) -> list[tuple[str, str]]:
    return [(t, n) for t, n in rendered.other if t.startswith("aws:")]


def test_prod_has_a_nat_gateway_per_zone_and_dev_one(rendered: Render) -> None:
    def nats(stack: str) -> int:
        return sum(1 for t, _ in _aws(rendered(stack)) if t == "aws:ec2/natGateway:NatGateway")

    assert nats("prod") == 3
    assert nats("dev") == 1
    endpoints = [n for t, n in _aws(rendered("prod")) if t == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert sorted(endpoints) == ["ecr-api", "ecr-dkr", "s3"]


def test_eks_has_a_node_group_per_zone_and_role_with_taints(rendered: Render) -> None:
    groups = [(n, i) for t, n, i in rendered("prod").raw if t == "aws:eks/nodeGroup:NodeGroup"]
    assert len(groups) == 4 * 3
    for name, inputs in groups:
        role = inputs["labels"]["rtap.dev/role"]
        assert name.startswith(role)
        assert len(inputs["subnetIds"]) == 1
        assert bool(inputs.get("taints")) == (role != "general"), name
    addons = {i["addonName"] for t, _, i in rendered("prod").raw if t == "aws:eks/addon:Addon"}
    assert {"vpc-cni", "coredns", "aws-ebs-csi-driver"} <= addons
    roles = [
        n for t, n in _aws(rendered("prod")) if t == "aws:iam/role:Role" and n.startswith("irsa-")
    ]
    assert sorted(roles) == ["irsa-ebs-csi", "irsa-spark"]
    (storage,) = _of_kind(rendered("prod"), "StorageClass")
    assert storage["parameters"]["type"] == "gp3"


def test_existing_cluster_mode_creates_no_aws_resource() -> None:
    config = with_changes(
        "dev",
        cluster={
            "mode": "existing",
            "context": "kind-rtap",
            "kubeconfig": "/home/ops/.kube/kind.yaml",
        },
        spark={"checkpointUri": "s3a://rtap-checkpoints/dev"},
    )
    result = render(PROJECT, "dev", config)
    assert _aws(result) == []
    providers = [i for t, _, i in result.raw if t == "pulumi:providers:kubernetes"]
    assert [(p["kubeconfig"], p["context"]) for p in providers] == [
        ("/home/ops/.kube/kind.yaml", "kind-rtap")
    ]
    (app,) = _of_kind(result, "SparkApplication")
    assert app["spec"]["driver"]["envVars"]["RTAP_CHECKPOINT_URI"] == "s3a://rtap-checkpoints/dev"
    # Nodes of a cluster rtap did not build carry no rtap role labels to select.
    assert app["spec"]["driver"]["nodeSelector"] == {}
    (prod_app,) = _of_kind(render(PROJECT, "prod"), "SparkApplication")
    assert prod_app["spec"]["driver"]["nodeSelector"] == {"rtap.dev/role": "spark"}


def test_kafka_users_get_only_what_their_workload_uses(rendered: Render) -> None:
    users = {u["metadata"]["name"]: u["spec"] for u in _of_kind(rendered("prod"), "KafkaUser")}
    assert set(users) == {"producer", "streaming", "connect", "schema-registry"}
    for spec in users.values():
        assert spec["authentication"] == {"type": "scram-sha-512"}
        operations = [op for acl in spec["authorization"]["acls"] for op in acl["operations"]]
        assert "All" not in operations
    producer = {
        (a["resource"]["type"], a["resource"]["name"])
        for a in users["producer"]["authorization"]["acls"]
    }
    assert producer == {("topic", "events"), ("cluster", "kafka-cluster")}
    streaming = {
        (a["resource"]["type"], a["resource"]["name"]): a["operations"]
        for a in users["streaming"]["authorization"]["acls"]
    }
    # The names the workloads really use (workloads/kafka.py), nothing wider.
    assert streaming[("group", STREAMING_GROUP_PREFIX)] == ["Read"]
    assert streaming[("transactionalId", dead_letter_transactional_id("events"))] == [
        "Write",
        "Describe",
    ]
    assert "Write" not in streaming[("topic", "events")]
    (kafka,) = _of_kind(rendered("prod"), "Kafka")
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"


def test_irsa_roles_trust_one_service_account_each(rendered: Render) -> None:
    trusts = {
        n: json.loads(i["assumeRolePolicy"])
        for t, n, i in rendered("prod").raw
        if t == "aws:iam/role:Role" and n.startswith("irsa-")
    }
    spark = trusts["irsa-spark"]["Statement"][0]
    (condition,) = spark["Condition"].values()
    subjects = [v for k, v in condition.items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:rtap:spark"]
    assert spark["Action"] == "sts:AssumeRoleWithWebIdentity"
    policy = next(
        json.loads(i["policy"])
        for t, n, i in rendered("prod").raw
        if t == "aws:iam/rolePolicy:RolePolicy" and n == "irsa-spark"
    )
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }
