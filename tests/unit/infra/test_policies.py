"""rtap's invariants (infra/policies.py), which `rtap render` and the policy pack both run:
each rule passes on the real stacks and fails, naming the object, on a violating one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from infra.policies import RULES, environment_of, violations
from tests.unit.infra.conftest import STACKS, Render

Objects = list[dict[str, Any]]


def _first(objects: Objects, kind: str, name: str | None = None) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"]))


def _two_zones(objects: Objects) -> None:
    for pool in (o for o in objects if o["kind"] == "KafkaNodePool"):
        terms = pool["spec"]["template"]["pod"]["affinity"]["nodeAffinity"]
        expression = terms["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        zone = expression[0]["matchExpressions"][0]["values"]
        if zone == ["us-east-1c"]:
            zone[0] = "us-east-1b"
    for chi in (o for o in objects if o["kind"] == "ClickHouseInstallation"):
        for template in chi["spec"]["templates"]["podTemplates"]:
            zones = template["zone"]["values"]
            template["zone"]["values"] = ["us-east-1b" if z == "us-east-1c" else z for z in zones]


def _replicas_two(objects: Objects) -> None:
    _first(objects, "KafkaTopic")["spec"]["replicas"] = 2


def _no_redis_budget(objects: Objects) -> None:
    objects.remove(_first(objects, "PodDisruptionBudget", "redis-pdb"))


def _no_limits(objects: Objects) -> None:
    api = _first(objects, "Deployment", "rtap-api")
    del api["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]


def _no_tls(objects: Objects) -> None:
    del _first(objects, "Ingress")["spec"]["tls"]


def _literal_password(objects: Objects) -> None:
    api = _first(objects, "Deployment", "rtap-api")
    env = api["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "CLICKHOUSE_PASSWORD", "value": "hunter2"})


def _latest_image(objects: Objects) -> None:
    job = _first(objects, "Job")
    job["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "ghcr.io/rtap-dev/rtap-serving:latest"
    )


BREAKS: dict[str, tuple[Callable[[Objects], None], str]] = {
    "min-three-zones": (_two_zones, "the Kafka node pools: pinned to 2 zones; prod needs 3"),
    "kafka-replication": (_replicas_two, "replicas 2 and min.insync.replicas 2"),
    "stateful-disruption-budget": (
        _no_redis_budget,
        "StatefulSet rtap/redis: no PodDisruptionBudget",
    ),
    "requests-and-limits": (_no_limits, "Deployment rtap/rtap-api container api: needs cpu"),
    "tls-public-endpoints": (
        _no_tls,
        "Ingress rtap/rtap-api: host api.rtap.example.com is served without TLS",
    ),
    "no-plaintext-secret": (_literal_password, "CLICKHOUSE_PASSWORD is a literal value"),
    "pinned-images": (
        _latest_image,
        "Job rtap/clickhouse-migrations: spec.template.spec.containers[0].image",
    ),
}


def test_every_rule_has_a_violating_case() -> None:
    assert set(BREAKS) == {rule.name for rule in RULES}


@pytest.mark.parametrize("stack", STACKS)
def test_the_stacks_meet_every_rule(rendered: Render, stack: str) -> None:
    objects = rendered(stack).manifests
    assert environment_of(objects) == stack
    assert violations(objects) == []


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_a_violation_is_reported_by_its_rule_naming_the_object(rendered: Render, rule: str) -> None:
    objects = copy.deepcopy(rendered("prod").manifests)
    breaking, expected = BREAKS[rule]
    breaking(objects)
    found = violations(objects)
    assert found, rule
    assert all(v.startswith(f"{rule}: ") for v in found), found
    assert any(expected in v for v in found), found


@pytest.mark.parametrize(
    "rule", ["min-three-zones", "kafka-replication", "stateful-disruption-budget"]
)
def test_prod_only_rules_let_other_stacks_through(rendered: Render, rule: str) -> None:
    objects = copy.deepcopy(rendered("staging").manifests)
    BREAKS[rule][0](objects)
    assert violations(objects) == []
    assert [v for v in violations(objects, "prod") if v.startswith(rule)]
