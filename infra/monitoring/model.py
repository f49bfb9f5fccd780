"""Alerts, recording rules and the promtool cases that prove each alert."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

_LABEL_TEMPLATE = re.compile(r"\{\{ \$labels\.([a-z_]+) \}\}")
# Where runbooks/<alert>.md is read; every alert links its own.
RUNBOOK_BASE_URL = "https://github.com/rtap-dev/rtap/blob/main/runbooks"
Severity = Literal["critical", "warning"]


@dataclass(frozen=True)
class Case:
    """One promtool scenario: input series (selector to values in promtool's expanding
    notation, one sample a `step`), the time to evaluate at, and the labels the alert
    carries when it fires, beyond its own. Rules are evaluated once a `step` too: cases
    that span days take a coarser one, or promtool needs minutes per stack."""

    series: Mapping[str, str]
    at: str
    labels: Mapping[str, str] = field(default_factory=dict)
    step: str = "1m"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_s: int
    severity: Severity
    summary: str
    description: str
    # The threshold in words and why it is there; docs/operations.md tabulates it.
    threshold: str
    fires: Case
    silent: Case
    # Further scenarios where it must stay silent, where one is not enough.
    also_silent: Sequence[Case] = ()

    def rule(self, for_scale: float) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_s:
            rule["for"] = f"{max(1, round(self.for_s * for_scale))}s"
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = self.annotations()
        return rule

    def annotations(self) -> dict[str, str]:
        return {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{RUNBOOK_BASE_URL}/{self.name}.md",
        }

    def expanded_annotations(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The annotations as Prometheus fills them in for an alert with these labels.
        Templates may name labels only: a `$value` could not be checked exactly."""

        def label(match: re.Match[str]) -> str:
            return labels[match.group(1)]

        return {key: _LABEL_TEMPLATE.sub(label, text) for key, text in self.annotations().items()}


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    alerts: Sequence[Alert] = ()
    recordings: Sequence[Recording] = ()

    def rendered(self, for_scale: float) -> dict[str, Any]:
        rules = [r.rule() for r in self.recordings] + [a.rule(for_scale) for a in self.alerts]
        return {"name": self.name, "rules": rules}


def rule_file(groups: Sequence[RuleGroup], for_scale: float = 1.0) -> dict[str, Any]:
    """Prometheus' rule file format; also the `spec` of a PrometheusRule."""
    return {"groups": [group.rendered(for_scale) for group in groups]}


def promtool_files(
    groups: Sequence[RuleGroup], for_scale: float = 1.0
) -> dict[str, dict[str, Any]]:
    """promtool's unit tests, by file name: for every alert one test where it fires and
    one where it stays silent, each on its own input series. Each group's tests load only
    that group's rules (written beside them), one file per evaluation step."""
    files: dict[str, dict[str, Any]] = {}
    for group in groups:
        rules_name = f"rules-{group.name}.yaml"
        files[rules_name] = rule_file([group], for_scale)
        for step, tests in _tests_by_step(group).items():
            files[f"tests-{group.name}-{step}.yaml"] = {
                "rule_files": [rules_name],
                "evaluation_interval": step,
                "tests": tests,
            }
    return files


def _tests_by_step(group: RuleGroup) -> dict[str, list[dict[str, Any]]]:
    by_step: dict[str, list[dict[str, Any]]] = {}
    for alert in group.alerts:
        labels = {**alert.fires.labels, "severity": alert.severity}
        fired = [{"exp_labels": labels, "exp_annotations": alert.expanded_annotations(labels)}]
        by_step.setdefault(alert.fires.step, []).append(_test(alert, alert.fires, fired, "fires"))
        for number, case in enumerate((alert.silent, *alert.also_silent), start=1):
            by_step.setdefault(case.step, []).append(
                _test(alert, case, [], f"stays silent ({number})")
            )
    return by_step


def _test(alert: Alert, case: Case, expected: list[dict[str, Any]], what: str) -> dict[str, Any]:
    return {
        "name": f"{alert.name} {what}",
        "interval": case.step,
        "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
        "alert_rule_test": [
            {"eval_time": case.at, "alertname": alert.name, "exp_alerts": expected}
        ],
    }


def all_alerts(groups: Sequence[RuleGroup]) -> list[Alert]:
    return [alert for group in groups for alert in group.alerts]
