"""`rtap render --server` on a real kube-apiserver (built from Go modules), with the
operators' original CRDs: the stacks pass, and what only the server checks is caught,
named by object and field."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rtap.cli import app
from rtap.render.apiserver import ApiServer, local_api_server
from rtap.render.program import render
from rtap.render.server_check import check_on_server
from tests.unit.infra.conftest import PROJECT, STACKS, render_once, with_changes


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with local_api_server() as server:
        yield server


def _only(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(m for m in manifests if m["kind"] == kind)


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_of_the_stack_is_accepted_and_its_pods_admitted(
    api: ApiServer, stack: str
) -> None:
    manifests = render_once(stack).manifests
    report = check_on_server(manifests, api)
    assert report.rejections == []
    assert report.applied == len(manifests)
    # The API, the registry, Redis and the migrations Job: their controllers made Pods,
    # and Pod Security admitted them. Nothing in rtap's namespace breaks `restricted`.
    assert report.pods_checked == 4
    assert [w for w in report.warnings if "PodSecurity" in w] == []


def test_a_stack_running_a_distributed_load_test_is_accepted_and_its_pods_admitted(
    api: ApiServer,
) -> None:
    config = with_changes("prod", loadtest={"enabled": True, "workers": 3})
    manifests = render(PROJECT, "prod", config).manifests
    report = check_on_server(manifests, api)
    assert report.rejections == []
    assert report.applied == len(manifests)
    # The stack's four, and the Locust master's and workers' Jobs.
    assert report.pods_checked == 6
    assert [w for w in report.warnings if "PodSecurity" in w] == []


def test_a_cel_rule_of_strimzis_crd_rejects_a_kafka_naming_the_field(api: ApiServer) -> None:
    manifests = copy.deepcopy(render_once("dev").manifests)
    kafka = _only(manifests, "Kafka")
    # Strimzi's CRD: jmxPrometheusExporter metrics need valueFrom (x-kubernetes-validations),
    # which no offline schema check evaluates.
    del kafka["spec"]["kafka"]["metricsConfig"]["valueFrom"]
    report = check_on_server(manifests, api)
    (rejection,) = report.rejections
    assert rejection.startswith("Kafka rtap/rtap: spec.kafka.metricsConfig: ")
    assert "valueFrom property is required" in rejection


def test_an_enum_of_strimzis_crd_rejects_a_kafka_user_naming_the_field(api: ApiServer) -> None:
    manifests = copy.deepcopy(render_once("dev").manifests)
    user = next(m for m in manifests if m["kind"] == "KafkaUser")
    user["spec"]["authentication"]["type"] = "scram-sha-256"
    report = check_on_server(manifests, api)
    (rejection,) = report.rejections
    assert f"KafkaUser rtap/{user['metadata']['name']}: spec.authentication.type" in rejection
    assert "scram-sha-512" in rejection  # the values the enum allows


IMAGE = "docker.io/valkey/valkey:8.1.10"
SIZE = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}


def test_the_cli_exits_non_zero_on_a_broken_builtin_object_naming_the_field(
    tmp_path: Path,
) -> None:
    # Valid against the OpenAPI schema (an int32) and every offline check, refused by the
    # Deployment's validation on the server: the only error.
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "broken", "namespace": "rtap"},
        "spec": {
            "replicas": -1,
            "selector": {"matchLabels": {"app": "broken"}},
            "template": {
                "metadata": {"labels": {"app": "broken"}},
                "spec": {"containers": [{"name": "c", "image": IMAGE, "resources": SIZE}]},
            },
        },
    }
    extra = tmp_path / "broken.yaml"
    extra.write_text(yaml.safe_dump(broken))
    result = CliRunner().invoke(
        app,
        ["render", "--stack", "dev", "--server", "--include", str(extra), "--out", str(tmp_path)],
    )
    assert result.exit_code == 1, result.output
    assert "Deployment rtap/broken: spec.replicas" in result.output
    assert "must be greater than or equal to 0" in result.output
    assert "1 validation errors" in result.output


def test_pod_security_refuses_a_pod_that_adds_a_capability_naming_its_workload(
    api: ApiServer,
) -> None:
    manifests = copy.deepcopy(render_once("dev").manifests)
    statefulset = _only(manifests, "StatefulSet")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    # The API server itself refuses privileged containers; an added capability is left to
    # Pod Security, which the namespace enforces at baseline.
    container["securityContext"] = {"capabilities": {"add": ["NET_ADMIN"]}}
    report = check_on_server(manifests, api)
    (rejection,) = report.rejections
    assert rejection.startswith("StatefulSet rtap/redis: its Pod was refused: ")
    assert 'violates PodSecurity "baseline:latest"' in rejection
