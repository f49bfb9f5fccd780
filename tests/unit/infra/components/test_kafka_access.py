"""Kafka users and ACLs (infra/components/kafka_access.py): least privilege."""

from __future__ import annotations

from tests.unit.infra.conftest import Render, of_kind
from workloads.kafka import STREAMING_GROUP_PREFIX, dead_letter_transactional_id


def test_kafka_users_get_only_what_their_workload_uses(rendered: Render) -> None:
    users = {u["metadata"]["name"]: u["spec"] for u in of_kind(rendered("prod"), "KafkaUser")}
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
    (kafka,) = of_kind(rendered("prod"), "Kafka")
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"


def test_the_registry_may_use_every_topic_and_group_it_is_configured_with(
    rendered: Render,
) -> None:
    # Apicurio 3's KafkaSQL storage creates and checks three topics and consumes in groups
    # named <prefix><uuid>: what its Deployment configures, its KafkaUser must allow.
    (registry,) = [
        d
        for d in of_kind(rendered("prod"), "Deployment")
        if d["metadata"]["name"] == "schema-registry"
    ]
    env = {
        e["name"]: e.get("value")
        for e in registry["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    topics = {
        env[name]
        for name in (
            "APICURIO_KAFKASQL_TOPIC",
            "APICURIO_KAFKASQL_SNAPSHOTS_TOPIC",
            "APICURIO_EVENTS_KAFKA_TOPIC",
        )
    }
    assert topics == {"kafkasql-journal", "kafkasql-snapshots", "registry-events"}
    (user,) = [
        u
        for u in of_kind(rendered("prod"), "KafkaUser")
        if u["metadata"]["name"] == "schema-registry"
    ]
    acls = user["spec"]["authorization"]["acls"]
    for topic in topics:
        (acl,) = [
            a
            for a in acls
            if a["resource"] == {"type": "topic", "name": topic, "patternType": "literal"}
        ]
        assert {"Read", "Write", "Create", "Describe", "DescribeConfigs"} <= set(acl["operations"])
    prefix = env["APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX"]
    (group,) = [a for a in acls if a["resource"]["type"] == "group"]
    assert group["resource"] == {"type": "group", "name": prefix, "patternType": "prefix"}
    assert "Read" in group["operations"]
