"""Every Kafka operation a workload performs is allowed by its rendered KafkaUser.

The uses come from the workloads' code (workloads/kafka_uses.py) and from what Kafka
Connect and the registry are configured with (infra/components/kafka_access.py); the
ACLs are what the program would apply. Kafka's authorizer denies whatever no allow-ACL
covers, so a use without one is a client that fails on the cluster.
"""

from __future__ import annotations

from typing import Any

from infra.components.kafka_access import user_uses
from infra.policies import describe
from workloads.kafka import KafkaSettings
from workloads.kafka_uses import KafkaUse, distinct

# Kafka's implied operations: an ACL allowing Read, Write, Delete or Alter also allows
# Describe, and one allowing AlterConfigs also allows DescribeConfigs.
_IMPLIED_BY = {
    "Describe": {"Read", "Write", "Delete", "Alter"},
    "DescribeConfigs": {"AlterConfigs"},
}


def ungranted_kafka_uses(manifests: list[dict[str, Any]], kafka: KafkaSettings) -> list[str]:
    """Each use no allow-ACL of its user covers, and each user the program lacks."""
    users = {m["metadata"]["name"]: m for m in manifests if m.get("kind") == "KafkaUser"}
    errors: list[str] = []
    for user, uses in user_uses(kafka).items():
        if user not in users:
            errors.append(f"KafkaUser {user}: not declared, but its workload logs in as it")
            continue
        acls = users[user].get("spec", {}).get("authorization", {}).get("acls") or []
        errors.extend(
            f"{describe(users[user])}: spec.authorization.acls allow no {_named(use)}, "
            "which its workload uses; the broker would deny it"
            for use in distinct(uses)
            if not any(_allows(acl, use) for acl in acls)
        )
    return errors


def _allows(acl: dict[str, Any], use: KafkaUse) -> bool:
    if acl.get("type", "allow") != "allow":
        return False
    resource = acl.get("resource") or {}
    if resource.get("type") != use.resource:
        return False
    operations = set(acl.get("operations") or [])
    if not (
        "All" in operations
        or use.operation in operations
        or operations & _IMPLIED_BY.get(use.operation, set())
    ):
        return False
    name = str(resource.get("name", ""))
    if resource.get("patternType", "literal") == "prefix":
        # A prefixed ACL covers every name that starts with it, prefixes included.
        return use.name.startswith(name)
    return use.pattern == "literal" and name in (use.name, "*")


def _named(use: KafkaUse) -> str:
    name = f"{use.name}*" if use.pattern == "prefix" else use.name
    return f"{use.operation} on {use.resource} {name}"
