"""Every rule group rtap deploys, built from one stack's settings: the only entry point
for the PrometheusRule, the local Prometheus' rule file and the promtool tests."""

from __future__ import annotations

from typing import Any

from infra.monitoring.model import RuleGroup, promtool_files, rule_file
from infra.monitoring.pipeline import pipeline_group
from infra.monitoring.platform import clickhouse_group, kafka_group, redis_group
from infra.monitoring.slo import slo_groups
from workloads.settings import WorkloadSettings

RULE_FILE_NAME = "rtap-rules.yaml"


def rule_groups(settings: WorkloadSettings) -> list[RuleGroup]:
    return [
        *slo_groups(settings),
        pipeline_group(settings),
        kafka_group(),
        clickhouse_group(),
        redis_group(),
    ]


def for_scale(settings: WorkloadSettings) -> float:
    """The local stack shortens every `for:` (rtap:local.alertForScale); others do not."""
    return settings.local.alert_for_scale if settings.environment == "local" else 1.0


def rendered_rules(settings: WorkloadSettings) -> dict[str, Any]:
    return rule_file(rule_groups(settings), for_scale(settings))


def rendered_tests(settings: WorkloadSettings) -> dict[str, dict[str, Any]]:
    """promtool's test files and the per-group rule files they load, by file name."""
    return promtool_files(rule_groups(settings), for_scale(settings))
