"""Every Kafka use of a workload is allowed by its rendered KafkaUser (kafka_grants.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rtap.render.kafka_grants import ungranted_kafka_uses
from tests.unit.infra.conftest import Render, of_kind
from workloads import kafka_uses
from workloads.kafka import KafkaSettings
from workloads.kafka_uses import KafkaUse


def _users(rendered: Render) -> tuple[list[dict[str, Any]], KafkaSettings]:
    result = rendered("dev")
    return copy.deepcopy(of_kind(result, "KafkaUser")), result.settings.kafka


def _acls(users: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    (user,) = [u for u in users if u["metadata"]["name"] == name]
    acls: list[dict[str, Any]] = user["spec"]["authorization"]["acls"]
    return acls


def test_the_rendered_users_allow_every_use(rendered: Render) -> None:
    users, kafka = _users(rendered)
    assert ungranted_kafka_uses(users, kafka) == []


def test_a_removed_acl_is_named_with_the_user_and_the_use(rendered: Render) -> None:
    users, kafka = _users(rendered)
    acls = _acls(users, "streaming")
    acls[:] = [a for a in acls if a["resource"]["type"] != "transactionalId"]
    errors = ungranted_kafka_uses(users, kafka)
    assert errors == [
        "KafkaUser rtap/streaming: spec.authorization.acls allow no Write on transactionalId "
        "rtap-dead-letters-events, which its workload uses; the broker would deny it",
        "KafkaUser rtap/streaming: spec.authorization.acls allow no Describe on "
        "transactionalId rtap-dead-letters-events, which its workload uses; the broker would "
        "deny it",
    ]


def test_a_use_the_code_adds_fails_against_acls_rendered_before_it(
    rendered: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    users, kafka = _users(rendered)

    def producer_also_reads(k: KafkaSettings) -> list[KafkaUse]:
        return [*kafka_uses.producer_uses(k), *kafka_uses.group_reads("events", "rtap-audit-")]

    monkeypatch.setitem(kafka_uses.WORKLOAD_USES, "producer", producer_also_reads)
    errors = ungranted_kafka_uses(users, kafka)
    assert [e.split(": ", 1)[1].split(",")[0] for e in errors] == [
        "spec.authorization.acls allow no Read on topic events",
        "spec.authorization.acls allow no Read on group rtap-audit-*",
    ]


def test_a_literal_acl_does_not_allow_a_prefixed_group(rendered: Render) -> None:
    users, kafka = _users(rendered)
    for acl in _acls(users, "streaming"):
        if acl["resource"]["type"] == "group":
            acl["resource"]["patternType"] = "literal"
    errors = ungranted_kafka_uses(users, kafka)
    assert any("Read on group rtap-streaming*" in e for e in errors), errors
    assert any("Read on group rtap-reader-*" in e for e in errors), errors


def test_implied_operations_and_deny_acls_follow_kafka(rendered: Render) -> None:
    users, kafka = _users(rendered)
    acls = _acls(users, "producer")
    # Write implies Describe; a deny ACL never allows anything.
    for acl in acls:
        if acl["resource"]["type"] == "topic":
            acl["operations"] = ["Write"]
    assert ungranted_kafka_uses(users, kafka) == []
    for acl in acls:
        acl["type"] = "deny"
    assert len(ungranted_kafka_uses(users, kafka)) == len(kafka_uses.producer_uses(kafka))


def test_a_missing_user_is_named(rendered: Render) -> None:
    users, kafka = _users(rendered)
    remaining = [u for u in users if u["metadata"]["name"] != "producer"]
    assert ungranted_kafka_uses(remaining, kafka) == [
        "KafkaUser producer: not declared, but its workload logs in as it"
    ]
