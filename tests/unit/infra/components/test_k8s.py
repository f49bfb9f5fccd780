"""What every component declares alike (infra/components/k8s.py): sizes, labels, zone
spread, disruption budgets and secrets, checked on the program rendered under mocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rtap.render.mocks import SECRET_MARKER
from rtap.render.placement import stateful_placement
from rtap.render.program import SECRET_SIG, Rendered
from tests.unit.infra.conftest import STACKS, Render, of_kind, pod_specs

RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)


def test_prod_spreads_every_stateful_workload_over_three_zones(rendered: Render) -> None:
    prod = rendered("prod")
    zones = prod.settings.cluster.zones
    placement = stateful_placement(prod, zones)
    assert placement["kafka brokers"] == dict.fromkeys(zones, 2)
    assert placement["kafka controllers"] == dict.fromkeys(zones, 1)
    assert placement["keeper rtap-keeper"] == dict.fromkeys(zones, 1)
    assert placement["redis"] == dict.fromkeys(zones, 1)
    assert set(placement["clickhouse rtap (2 shards)"]) == set(zones)


def _containers(rendered: Rendered) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in rendered.manifests:
        for where, pod in pod_specs(obj):
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                yield (
                    f"{obj['kind']} {obj['metadata']['name']} {where} {container['name']}",
                    container,
                )


def _sized(resources: dict[str, Any]) -> bool:
    return all(
        resources.get(k, {}).get("cpu") and resources.get(k, {}).get("memory")
        for k in ("requests", "limits")
    )


def _operator_run_unsized(result: Rendered) -> list[str]:
    """Pods the operators run, sized in the custom resources themselves."""
    unsized = []
    for kafka in of_kind(result, "Kafka"):
        spec = kafka["spec"]
        blocks = {
            "topicOperator": spec["entityOperator"]["topicOperator"],
            "userOperator": spec["entityOperator"]["userOperator"],
            "kafkaExporter": spec["kafkaExporter"],
            "cruiseControl": spec.get("cruiseControl", {"resources": _BOTH}),
        }
        unsized += [f"Kafka {n}" for n, block in blocks.items() if not _sized(block["resources"])]
    for kind in ("KafkaNodePool", "KafkaConnect"):
        unsized += [
            f"{kind} {o['metadata']['name']}"
            for o in of_kind(result, kind)
            if not _sized(o["spec"]["resources"])
        ]
    for app in of_kind(result, "SparkApplication"):
        for role in ("driver", "executor"):
            spec = app["spec"][role]
            if not (spec.get("cores") and spec.get("coreLimit") and spec.get("memory")):
                unsized.append(f"SparkApplication {role}")
    return unsized


_BOTH = {"requests": {"cpu": "1", "memory": "1"}, "limits": {"cpu": "1", "memory": "1"}}


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_has_requests_and_limits(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    containers = list(_containers(result))
    assert len(containers) >= 5
    unsized = [where for where, c in containers if not _sized(c.get("resources", {}))]
    unsized += _operator_run_unsized(result)
    for release in result.helm_releases:
        unsized += [f"helm {release['name']} {path}" for path in _unsized_values(release["values"])]
    assert not unsized, unsized


def _unsized_values(values: Any, path: str = "") -> list[str]:
    """Paths of `resources` blocks in Helm values that lack requests or limits."""
    found = []
    if isinstance(values, dict):
        for key, value in values.items():
            here = f"{path}.{key}" if path else key
            # A volume claim's `resources` is its storage request, not a container's; a
            # chart may group its pods' `resources` by component (KEDA's operator, ...).
            if key == "resources" and "volumeClaimTemplate" not in path:
                grouped = isinstance(value, dict) and not {"requests", "limits"} & set(value)
                if grouped:
                    found += [
                        f"{here}.{part}" for part, block in value.items() if not _sized(block)
                    ]
                elif not _sized(value):
                    found.append(here)
            else:
                found += _unsized_values(value, here)
    return found


def test_every_helm_release_sizes_its_pods(rendered: Render) -> None:
    for release in rendered("prod").helm_releases:
        assert "resources" in str(release["values"]), release["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_and_pod_carries_the_recommended_labels(rendered: Render, stack: str) -> None:
    missing = []
    for obj in rendered(stack).manifests:
        labels = obj["metadata"].get("labels", {})
        missing += [
            f"{obj['kind']} {obj['metadata']['name']}: {k}"
            for k in RECOMMENDED_LABELS
            if k not in labels
        ]
        template = obj.get("spec", {}).get("template", {})
        if obj["kind"] in ("Deployment", "Job"):
            pod_labels = template["metadata"]["labels"]
            missing += [
                f"{obj['kind']} {obj['metadata']['name']} pods: {k}"
                for k in RECOMMENDED_LABELS
                if k not in pod_labels
            ]
    assert not missing, missing


@pytest.mark.parametrize("stack", STACKS)
def test_every_stateful_workload_has_a_disruption_budget(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    (kafka,) = of_kind(result, "Kafka")
    assert kafka["spec"]["kafka"]["template"]["podDisruptionBudget"]["maxUnavailable"] == 1
    (connect,) = of_kind(result, "KafkaConnect")
    assert connect["spec"]["template"]["podDisruptionBudget"]["maxUnavailable"] == 1
    for kind in ("ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        for obj in of_kind(result, kind):
            for cluster in obj["spec"]["configuration"]["clusters"]:
                assert cluster["pdbMaxUnavailable"] == 1, kind
    budgets = [p["spec"]["selector"]["matchLabels"] for p in of_kind(result, "PodDisruptionBudget")]
    workloads = of_kind(result, "Deployment") + of_kind(result, "StatefulSet")
    assert "redis" in {w["metadata"]["name"] for w in workloads}
    for workload in workloads:
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector in budgets, workload["metadata"]["name"]


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
    secret_objects = {m["metadata"]["name"] for m in of_kind(result, "Secret")}
    assert secret_objects == {"clickhouse-credentials", "redis-auth", "api-keys", "api-jwt"}
    for secret in of_kind(result, "Secret"):
        assert set(secret["stringData"].values()) == {"<secret>"}, secret["metadata"]["name"]


def test_workloads_read_credentials_from_secrets(rendered: Render) -> None:
    (api,) = [
        d for d in of_kind(rendered("prod"), "Deployment") if d["metadata"]["name"] == "rtap-api"
    ]
    env = {e["name"]: e for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    for variable in ("CLICKHOUSE_PASSWORD", "REDIS_PASSWORD", "RTAP_JWT_SECRET"):
        assert "secretKeyRef" in env[variable]["valueFrom"], variable
    (chi,) = of_kind(rendered("prod"), "ClickHouseInstallation")
    users = chi["spec"]["configuration"]["users"]
    assert users["reader/k8s_secret_password"] == "clickhouse-credentials/reader"
    assert not any(k.endswith("/password") for k in users)
