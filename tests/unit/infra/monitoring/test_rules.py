"""The alert model: every alert is complete and linked to its runbook, and its thresholds
follow the stack's `sla` block (promtool runs the rules in tests/integration)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.stack_config import load_stack
from infra.monitoring.model import RUNBOOK_BASE_URL, all_alerts
from infra.monitoring.rules import rendered_rules, rendered_tests, rule_groups
from infra.monitoring.table import alert_table
from infra.settings import StackSettings
from workloads.settings import WorkloadSettings

PROJECT = Path(__file__).resolve().parents[4]
STACKS = ("local", "dev", "staging", "prod")


def settings_of(stack: str) -> WorkloadSettings:
    return load_stack(StackSettings, stack, PROJECT)


def with_sla(settings: WorkloadSettings, **changes: float) -> WorkloadSettings:
    return settings.model_copy(update={"sla": settings.sla.model_copy(update=changes)})


def rules_by_name(settings: WorkloadSettings) -> dict[str, dict[str, object]]:
    rules = [rule for group in rendered_rules(settings)["groups"] for rule in group["rules"]]
    return {
        str(rule.get("alert") or f"{rule['record']}{rule.get('labels')}"): rule for rule in rules
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_is_complete_and_its_runbook_exists(stack: str) -> None:
    alerts = all_alerts(rule_groups(settings_of(stack)))
    assert len({a.name for a in alerts}) == len(alerts), "alert names are unique"
    for alert in alerts:
        rule = alert.rule(1.0)
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert alert.summary and alert.description and alert.threshold
        url = rule["annotations"]["runbook_url"]
        assert url == f"{RUNBOOK_BASE_URL}/{alert.name}.md"
        runbook = PROJECT / "runbooks" / f"{alert.name}.md"
        assert runbook.is_file(), f"{alert.name} links {runbook}, which is missing"
        assert runbook.read_text().startswith(f"# {alert.name}\n")
        # promtool checks the expanded annotations exactly, so templates name labels only.
        assert "$value" not in alert.description + alert.summary


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_has_a_firing_and_a_silent_promtool_test(stack: str) -> None:
    settings = settings_of(stack)
    files = rendered_tests(settings).values()
    tests = [t for file in files if "tests" in file for t in file["tests"]]
    for alert in all_alerts(rule_groups(settings)):
        mine = [t for t in tests if t["alert_rule_test"][0]["alertname"] == alert.name]
        firing = [t for t in mine if t["alert_rule_test"][0]["exp_alerts"]]
        silent = [t for t in mine if not t["alert_rule_test"][0]["exp_alerts"]]
        assert len(firing) == 1 and silent, alert.name


def test_the_freshness_target_moves_the_freshness_slo_and_the_stall_threshold() -> None:
    dev = settings_of("dev")
    before = rules_by_name(dev)
    after = rules_by_name(with_sla(dev, freshness_p95_seconds=7.5))
    record = "rtap:slo_error_ratio:rate5m{'slo': 'freshness'}"
    assert 'le="5.0"' in str(before[record]["expr"])
    assert 'le="7.5"' in str(after[record]["expr"])
    assert "> 50 unless" in str(before["StreamingJobStalled"]["expr"])
    assert "> 75 unless" in str(after["StreamingJobStalled"]["expr"])


def test_the_latency_target_is_the_bucket_the_latency_slo_counts() -> None:
    prod = settings_of("prod")
    record = "rtap:slo_error_ratio:rate1h{'slo': 'api-latency'}"
    assert 'le="0.025"' in str(rules_by_name(prod)[record]["expr"])
    assert 'le="0.04"' in str(rules_by_name(with_sla(prod, query_p99_ms=40))[record]["expr"])


def test_the_availability_target_sets_the_burn_thresholds() -> None:
    prod = settings_of("prod")
    page = str(rules_by_name(prod)["ApiAvailabilityBudgetBurnPage"]["expr"])
    relaxed = rules_by_name(with_sla(prod, availability_target=0.99))
    # 14.4 times a 0.1% budget, then times a 1% budget.
    assert "> 0.0144" in page
    assert "> 0.144" in str(relaxed["ApiAvailabilityBudgetBurnPage"]["expr"])


def test_the_ingest_target_caps_what_the_ingest_slo_expects() -> None:
    prod = settings_of("prod")
    expr = str(rules_by_name(prod)["rtap:slo_error_ratio:rate5m{'slo': 'ingest'}"]["expr"])
    assert ", 50000)" in expr
    changed = rules_by_name(with_sla(prod, ingest_events_per_second=80_000))
    assert ", 80000)" in str(changed["rtap:slo_error_ratio:rate5m{'slo': 'ingest'}"]["expr"])


def test_the_dead_letter_share_is_the_dead_letter_threshold() -> None:
    dev = settings_of("dev")
    expr = str(
        rules_by_name(with_sla(dev, max_dead_letter_share=0.2))["DeadLetterShareHigh"]["expr"]
    )
    assert re.search(r"\) > 0\.2$", expr)


def test_the_local_stack_shortens_every_for_and_the_others_do_not() -> None:
    local, prod = rules_by_name(settings_of("local")), rules_by_name(settings_of("prod"))
    assert prod["RedisDown"]["for"] == "60s"
    assert local["RedisDown"]["for"] == "6s"


def test_the_operations_guide_lists_every_alert_as_the_model_has_it() -> None:
    guide = (PROJECT / "docs" / "operations.md").read_text()
    assert alert_table(rule_groups(settings_of("prod"))) in guide, (
        "regenerate the table in docs/operations.md with infra.monitoring.table.alert_table"
    )
