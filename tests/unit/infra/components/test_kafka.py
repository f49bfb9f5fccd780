"""The Kafka cluster (infra/components/kafka.py): rack awareness and durability."""

from __future__ import annotations

import pytest

from infra.components.k8s import ZONE_LABEL
from tests.unit.infra.conftest import STACKS, Render, of_kind, stack_values


def test_brokers_are_rack_aware_on_the_zone_label(rendered: Render) -> None:
    (kafka,) = of_kind(rendered("prod"), "Kafka")
    assert kafka["spec"]["kafka"]["rack"] == {"topologyKey": ZONE_LABEL}
    assert "cruiseControl" in kafka["spec"] and "kafkaExporter" in kafka["spec"]
    assert kafka["spec"]["kafka"]["metricsConfig"]["type"] == "jmxPrometheusExporter"


@pytest.mark.parametrize("stack", STACKS)
def test_replication_and_min_isr_follow_the_stack(rendered: Render, stack: str) -> None:
    wanted = stack_values(stack)["kafka"]
    result = rendered(stack)
    (kafka,) = of_kind(result, "Kafka")
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == wanted["replicationFactor"]
    assert config["min.insync.replicas"] == wanted["minInsyncReplicas"]
    assert config["offsets.topic.replication.factor"] == wanted["replicationFactor"]
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(result, "KafkaTopic")}
    assert topics["events"]["partitions"] == wanted["partitions"]
    for spec in topics.values():
        assert spec["replicas"] == wanted["replicationFactor"]
        assert spec["config"]["min.insync.replicas"] == wanted["minInsyncReplicas"]


def test_the_kafka_resource_carries_no_annotation_strimzi_ignores(rendered: Render) -> None:
    (kafka,) = of_kind(rendered("prod"), "Kafka")
    annotations = kafka["metadata"].get("annotations", {})
    assert not {"strimzi.io/kraft", "strimzi.io/node-pools"} & set(annotations)  # 0.48+
