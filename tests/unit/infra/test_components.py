"""What each component declares, checked on the program rendered under Pulumi's mocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.components.k8s import ZONE_LABEL
from rtap.render.placement import stateful_placement
from rtap.render.program import Rendered
from tests.unit.infra.conftest import STACKS, pod_specs, stack_values

Render = Callable[[str], Rendered]
RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)


def _of_kind(rendered: Rendered, kind: str) -> list[dict[str, Any]]:
    return [m for m in rendered.manifests if m["kind"] == kind]


def test_prod_spreads_every_stateful_workload_over_three_zones(rendered: Render) -> None:
    prod = rendered("prod")
    zones = prod.settings.cluster.zones
    placement = stateful_placement(prod, zones)
    assert placement["kafka brokers"] == dict.fromkeys(zones, 2)
    assert placement["kafka controllers"] == dict.fromkeys(zones, 1)
    assert placement["keeper rtap-keeper"] == dict.fromkeys(zones, 1)
    assert placement["redis"] == dict.fromkeys(zones, 1)
    assert set(placement["clickhouse rtap (2 shards)"]) == set(zones)


def test_clickhouse_replicas_of_a_shard_sit_in_distinct_zones(rendered: Render) -> None:
    (chi,) = _of_kind(rendered("prod"), "ClickHouseInstallation")
    templates = {t["name"]: t for t in chi["spec"]["templates"]["podTemplates"]}
    (cluster,) = chi["spec"]["configuration"]["clusters"]
    replica_zones = [
        templates[r["templates"]["podTemplate"]]["zone"]["values"]
        for r in cluster["layout"]["replicas"]
    ]
    assert len(replica_zones) == cluster["layout"]["replicasCount"] == 3
    assert all(len(z) == 1 for z in replica_zones)
    assert len({z[0] for z in replica_zones}) == 3
    assert all(t["zone"]["key"] == ZONE_LABEL for t in templates.values())


def test_keeper_is_a_quorum_of_three_one_per_zone(rendered: Render) -> None:
    (keeper,) = _of_kind(rendered("prod"), "ClickHouseKeeperInstallation")
    assert keeper["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"] == 3
    spread = keeper["spec"]["templates"]["podTemplates"][0]["spec"]["topologySpreadConstraints"]
    hard = [c for c in spread if c["whenUnsatisfiable"] == "DoNotSchedule"]
    assert hard and hard[0]["topologyKey"] == ZONE_LABEL and hard[0]["maxSkew"] == 1
    (chi,) = _of_kind(rendered("prod"), "ClickHouseInstallation")
    assert "keeper-rtap-keeper" in chi["spec"]["configuration"]["zookeeper"]["nodes"][0]["host"]


def test_brokers_are_rack_aware_on_the_zone_label(rendered: Render) -> None:
    (kafka,) = _of_kind(rendered("prod"), "Kafka")
    assert kafka["spec"]["kafka"]["rack"] == {"topologyKey": ZONE_LABEL}
    assert "cruiseControl" in kafka["spec"] and "kafkaExporter" in kafka["spec"]
    assert kafka["spec"]["kafka"]["metricsConfig"]["type"] == "jmxPrometheusExporter"


@pytest.mark.parametrize("stack", STACKS)
def test_replication_and_min_isr_follow_the_stack(rendered: Render, stack: str) -> None:
    wanted = stack_values(stack)["kafka"]
    result = rendered(stack)
    (kafka,) = _of_kind(result, "Kafka")
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == wanted["replicationFactor"]
    assert config["min.insync.replicas"] == wanted["minInsyncReplicas"]
    assert config["offsets.topic.replication.factor"] == wanted["replicationFactor"]
    topics = {t["spec"]["topicName"]: t["spec"] for t in _of_kind(result, "KafkaTopic")}
    assert topics["events"]["partitions"] == wanted["partitions"]
    for spec in topics.values():
        assert spec["replicas"] == wanted["replicationFactor"]
        assert spec["config"]["min.insync.replicas"] == wanted["minInsyncReplicas"]


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
    for kafka in _of_kind(result, "Kafka"):
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
            for o in _of_kind(result, kind)
            if not _sized(o["spec"]["resources"])
        ]
    for app in _of_kind(result, "SparkApplication"):
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
            if key == "resources":
                if not _sized(value):
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
