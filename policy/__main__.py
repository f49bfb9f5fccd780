"""rtap's policy pack: the rules of infra/policies.py as Pulumi stack policies.

`pulumi preview --policy-pack policy` (or `pulumi up`) hands the pack every resource of
the stack with its inputs; each rule sees the Kubernetes objects among them, as
`rtap render` does. Rules marked prod-only apply when the stack's settings say
environment prod. Every policy is mandatory: a violation stops the update.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# infra/policies.py is pure Python: the repository root is all the pack needs.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.policies import RULES, Rule, environment_of

# Charts are templated by the provider: their objects are not the Release's inputs.
NOT_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")


def kubernetes_objects(args: StackValidationArgs) -> list[dict[str, Any]]:
    """The stack's Kubernetes objects as manifests (their inputs: apiVersion, kind, ...)."""
    return [
        _plain(resource.props)
        for resource in args.resources
        if resource.resource_type.startswith("kubernetes:")
        and not resource.resource_type.startswith(NOT_OBJECTS)
        and "kind" in resource.props
    ]


def _plain(value: Any) -> Any:
    if hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        objects = kubernetes_objects(args)
        if rule.prod_only and environment_of(objects) != "prod":
            return
        for message in rule.check(objects):
            report_violation(message, None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description + (" (prod)" if rule.prod_only else ""),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


def policies() -> list[StackValidationPolicy]:
    return [stack_policy(rule) for rule in RULES]


if __name__ == "__main__":
    PolicyPack(name="rtap", policies=list(policies()), enforcement_level=EnforcementLevel.MANDATORY)
