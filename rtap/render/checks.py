"""What the schemas cannot see, checked on the rendered program.

Schema-valid is not deployable. These checks read the program as a whole: its objects
and the dependencies between its resources (rtap/render/mocks.py records both).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.components.k8s import WAIT_FOR
from infra.policies import describe, violations
from rtap.render.capacity import capacity_errors
from rtap.render.kafka_grants import ungranted_kafka_uses
from rtap.render.mocks import Ref
from rtap.render.program import Rendered
from rtap.render.validate import is_builtin

# Kinds whose operator reports no readiness of their own: a Strimzi node pool is ready
# as part of its Kafka, which is awaited.
REPORTS_NO_READINESS = frozenset({"KafkaNodePool"})


def deployability_errors(rendered: Rendered, kubernetes_version: str) -> list[str]:
    """Every problem a real cluster would meet that the schemas let through."""
    return [
        *unawaited_dependencies(rendered, kubernetes_version),
        *capacity_errors(rendered, rendered.settings),
        *ungranted_kafka_uses(rendered.manifests, rendered.settings.kafka),
        # The policy pack's rules (policy/), on the rendered objects.
        *violations(rendered.manifests, rendered.settings.environment),
    ]


def unawaited_dependencies(rendered: Rendered, kubernetes_version: str) -> list[str]:
    """Custom resources that something depends on but Pulumi would not wait for.

    pulumi-kubernetes awaits built-in kinds by itself. A custom resource it considers
    done as soon as the API server stores it, unless a `pulumi.com/waitFor` annotation
    says what ready means; whatever depends on it would then start too early.
    """
    errors: list[str] = []
    for node in rendered.graph:
        for target in node.depends_on:
            for member in _objects_of(rendered, target):
                obj = rendered.objects[member]
                if _awaits_readiness(obj, kubernetes_version):
                    continue
                error = (
                    f"{describe(obj)}: {node.ref[1]} ({_kind(node.ref)}) depends on it, but "
                    f"it has no {WAIT_FOR} annotation, so Pulumi would go on once it is "
                    "created, not once it is ready"
                )
                if error not in errors:
                    errors.append(error)
    return errors


def _awaits_readiness(obj: dict[str, Any], kubernetes_version: str) -> bool:
    kind, api_version = str(obj.get("kind")), str(obj.get("apiVersion"))
    if is_builtin(api_version, kind, kubernetes_version) or kind in REPORTS_NO_READINESS:
        return True
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return WAIT_FOR in annotations


def _objects_of(rendered: Rendered, ref: Ref) -> Iterator[Ref]:
    """The Kubernetes objects a dependency stands for: itself, or all of a component's."""
    if ref in rendered.objects:
        yield ref
        return
    for node in rendered.graph:
        if node.parent == ref:
            yield from _objects_of(rendered, node.ref)


def _kind(ref: Ref) -> str:
    return ref[0].rsplit(":", 1)[-1]
