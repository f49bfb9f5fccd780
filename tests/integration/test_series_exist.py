"""Every alert, recording-rule and dashboard expression the stack renders parses in the local
Prometheus, and every series it names exists there while the pipeline runs, except the
cluster-only ones listed with their reasons in infra/monitoring/cluster_only.py. A
misspelt metric or label name would otherwise leave an alert silently watching nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.monitoring.cluster_only import exemption
from infra.monitoring.dashboards import dashboard_queries
from infra.monitoring.rules import rendered_rules
from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.pipeline_run import PipelineRun

pytestmark = pytest.mark.integration


def selectors(node: Any) -> Iterator[dict[str, Any]]:
    """The vector and matrix selectors in a parsed expression (Prometheus' JSON AST)."""
    if isinstance(node, dict):
        if "matchers" in node:
            yield node
        for value in node.values():
            yield from selectors(value)
    elif isinstance(node, list):
        for item in node:
            yield from selectors(item)


def exists(api: str, selector: dict[str, Any]) -> bool:
    """Series exist for the metric and its exact matchers, and carry every label the
    selector names. A regex matcher may filter to nothing (no 5xx yet) and is not tried."""
    exact = {m["name"]: m["value"] for m in selector["matchers"] if m["type"] == "="}
    match = "{" + ",".join(f'{label}="{value}"' for label, value in exact.items()) + "}"
    found = httpx.get(f"{api}/series", params={"match[]": match}, timeout=10).json()["data"]
    named = {m["name"] for m in selector["matchers"]}
    return bool(found) and all(any(label in series for series in found) for label in named)


@pytest.fixture(scope="module")
def traffic(processes: LocalProcesses, control: ControlClient) -> None:
    """Events through the pipeline and queries through the API, then a few evaluations."""
    producer = processes.settings.producer.model_copy(
        update={"rate_per_second": 5_000, "malformed_share": 0.05, "seed": 1}
    )
    run = PipelineRun(processes, control, producer)
    run.prepare()
    run.produce(None, threading.Event(), limit=10_000)
    run.drain(timeout_s=300)
    api = f"http://127.0.0.1:{processes.settings.local.platform_port}"
    key = {"X-API-Key": processes.dashboard_key()}
    for _ in range(5):
        assert httpx.get(
            f"{api}/v1/events/counts", params={"granularity": "minute"}, headers=key, timeout=30
        ).is_success
        assert httpx.get(f"{api}/v1/events/top-types", headers=key, timeout=30).is_success
    time.sleep(10)  # five scrapes and rule evaluations at the local 2 s interval


def test_every_rule_and_dashboard_query_parses_and_names_series_that_exist(
    processes: LocalProcesses, traffic: None
) -> None:
    api = f"http://127.0.0.1:{processes.settings.local.prometheus_port}/api/v1"
    rules = [r for g in rendered_rules(processes.settings)["groups"] for r in g["rules"]]
    expressions = {str(r.get("alert") or r["record"]): r["expr"] for r in rules}
    expressions |= {f"dashboard query {q}": q for q in dashboard_queries(processes.settings)}
    missing, exempted = [], set()
    for what, expr in expressions.items():
        for selector in selectors(_parsed(api, expr)):
            exact = {m["name"]: m["value"] for m in selector["matchers"] if m["type"] == "="}
            reason = exemption(selector["name"], exact)
            if reason is not None:
                exempted.add(selector["name"])
            elif not exists(api, selector):
                missing.append(f"{what}: {selector['name']} {exact}")
    assert not missing, missing
    # A misspelt name or label is what this test exists to catch.
    misspelt = _parsed(api, 'sum(redis_upp) + sum(redis_up{instanse="x"})')
    assert [exists(api, selector) for selector in selectors(misspelt)] == [False, False]
    # The exemptions are used, and only for the series they are meant for.
    assert exempted == {
        "kubelet_volume_stats_available_bytes",
        "kubelet_volume_stats_capacity_bytes",
        "ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay",
        "ClickHouseAsyncMetrics_MaxPartCountForPartition",
        "redis_master_link_up",
        "up",
    }


def _parsed(api: str, expr: str) -> Any:
    parsed = httpx.post(f"{api}/parse_query", data={"query": expr}, timeout=10).json()
    assert parsed["status"] == "success", (expr, parsed)
    return parsed["data"]
