"""The checks of what the schemas cannot see, on the real stacks and on a broken one."""

from __future__ import annotations

import pytest

from infra.components import k8s
from infra.policies import violations
from rtap.render.checks import deployability_errors, unawaited_dependencies
from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, STACKS, Render


@pytest.mark.parametrize("stack", STACKS)
def test_the_stacks_pass_every_check(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    assert deployability_errors(result, result.settings.cluster.kubernetes_version) == []


def test_a_custom_resource_without_a_wait_is_named_with_what_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(k8s.READY_WHEN, "KafkaUser")
    errors = unawaited_dependencies(render(PROJECT, "dev"), "1.33")
    assert any(
        e.startswith("KafkaUser rtap/schema-registry: schema-registry (Deployment) depends on it")
        for e in errors
    ), errors
    assert all("pulumi.com/waitFor" in e for e in errors)


def test_depending_on_a_component_needs_each_of_its_custom_resources_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The streaming job depends on the ClickHouse component as a whole.
    monkeypatch.delitem(k8s.READY_WHEN, "ClickHouseInstallation")
    errors = unawaited_dependencies(render(PROJECT, "dev"), "1.33")
    assert any(
        e.startswith(
            "ClickHouseInstallation rtap/rtap: streaming-application (SparkApplication) depends"
        )
        for e in errors
    ), errors
    assert any("clickhouse-migrations (Job) depends on it" in e for e in errors), errors


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("bitnami/redis:8.2.1-debian-12-r0", "frozen bitnamilegacy"),
        ("docker.io/bitnamilegacy/redis-sentinel:8.2.1", "bitnamilegacy is frozen"),
        ("docker.io/valkey/valkey:latest", "is no pin"),
        ("docker.io/valkey/valkey", "has no tag"),
    ],
)
def test_an_unpinned_or_frozen_image_is_named_with_its_path(
    rendered: Render, image: str, problem: str
) -> None:
    result = rendered("dev")
    assert violations(result.manifests) == []
    (statefulset,) = [m for m in result.manifests if m["kind"] == "StatefulSet"]
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    original = containers[1]["image"]
    containers[1]["image"] = image
    try:
        (error,) = violations(result.manifests)
    finally:
        containers[1]["image"] = original
    assert error.startswith(
        "pinned-images: StatefulSet rtap/redis: spec.template.spec.containers[1].image: "
    )
    assert problem in error, error
