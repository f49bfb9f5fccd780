"""rtap:loadtest (infra/components/loadtest.py): off by default; when on, a Locust master
and its workers run the suite against the stack's own API and brokers, with keys the
API accepts and options the suite reads."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.components.loadtest import KAFKA_USER, MASTER, MASTER_PORT
from infra.components.serving import OPERATOR_KEY_ID, load_test_key_id, operator_key_file
from infra.policies import violations
from rtap.render.program import Rendered, render
from tests.unit.infra.conftest import PROJECT, STACKS, Render, of_kind, with_changes
from workloads.serving.auth import KeyStore, Scope, key_token, load_test_keys_needed
from workloads.settings import SlaSettings


@cache  # a render takes 8 s or more; the tests only read it
def _enabled(stack: str = "prod", **changes: Any) -> Rendered:
    return render(PROJECT, stack, with_changes(stack, loadtest={"enabled": True, **changes}))


def _job(rendered: Rendered, suffix: str) -> dict[str, Any]:
    (job,) = [j for j in of_kind(rendered, "Job") if j["metadata"]["name"].endswith(suffix)]
    return job


def _env(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("stack", STACKS)
def test_it_is_off_by_default(rendered: Render, stack: str) -> None:
    names = [m["metadata"]["name"] for m in rendered(stack).manifests]
    assert not [name for name in names if "loadtest" in name and "allow-" not in name]


def test_a_run_is_a_master_and_its_workers_with_the_suites_options() -> None:
    rendered = _enabled(workers=6, rate=2500, ingestRate=8000, durationSeconds=300, run="r7")
    master, workers = _job(rendered, "r7-master"), _job(rendered, "r7-workers")
    assert workers["spec"]["parallelism"] == workers["spec"]["completions"] == 6
    for job in (master, workers):
        # A failed run is a verdict, never retried; `pulumi up` does not wait for it.
        assert job["spec"]["backoffLimit"] == 0
        assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
        env = _env(job)
        assert env["LOCUST_RTAP_RATE"] == "2500.0"
        assert env["LOCUST_RTAP_INGEST_RATE"] == "8000.0"
        assert env["LOCUST_RTAP_DURATION"] == "300"
        assert env["LOCUST_RTAP_ARRIVAL_USERS"] == "6"  # one share of the rate per worker
        assert env["RTAP_SETTINGS_FILE"].endswith("settings.json")
    assert _env(master)["LOCUST_EXPECT_WORKERS"] == "6"
    assert _env(master)["LOCUST_HOST"] == "http://rtap-api.rtap.svc"
    worker_env = _env(workers)
    assert worker_env["LOCUST_MASTER_NODE_HOST"] == MASTER
    assert worker_env["KAFKA_USERNAME"] == KAFKA_USER
    assert worker_env["KAFKA_PASSWORD"] == {"secretKeyRef": {"name": KAFKA_USER, "key": "password"}}
    assert "KAFKA_PASSWORD" not in _env(master)  # the master produces nothing
    (service,) = [s for s in of_kind(rendered, "Service") if s["metadata"]["name"] == MASTER]
    assert service["spec"]["selector"].items() <= _pod_labels(master).items()
    assert service["spec"]["ports"][0]["port"] == MASTER_PORT


def test_the_workers_produce_as_the_producer_user_under_its_acls() -> None:
    rendered = _enabled()
    users = {u["metadata"]["name"] for u in of_kind(rendered, "KafkaUser")}
    assert KAFKA_USER in users


def _pod_labels(job: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = job["spec"]["template"]["metadata"]["labels"]
    return labels


def test_only_the_workers_may_reach_the_master() -> None:
    rendered = _enabled()
    (policy,) = [
        p for p in of_kind(rendered, "NetworkPolicy") if p["metadata"]["name"] == f"allow-{MASTER}"
    ]
    master_pods, worker_pods = (
        _pod_labels(_job(rendered, "-master")),
        _pod_labels(_job(rendered, "-workers")),
    )
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= master_pods.items()
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"].items() <= worker_pods.items()
    assert not peer["podSelector"]["matchLabels"].items() <= master_pods.items()
    assert rule["ports"] == [{"protocol": "TCP", "port": MASTER_PORT}]


def test_the_default_rate_is_above_the_stacks_floor_and_keys_cover_it() -> None:
    rendered = _enabled()
    settings = rendered.settings
    assert settings is not None
    rate = settings.sla.load_test_rate
    assert rate > settings.sla.min_requests_per_second
    assert _env(_job(rendered, "-master"))["LOCUST_RTAP_RATE"] == str(rate)
    # The API's key Secret gains one read key per share of the per-key rate limit.
    keys = load_test_keys_needed(rate, settings.serving.rate_limit_per_minute)
    assert keys > 1
    passwords = [n for t, n in rendered.other if t == "random:index/randomPassword:RandomPassword"]
    assert len([n for n in passwords if n.startswith("api-loadtest-key-")]) == keys


def test_the_load_test_keys_are_accepted_by_the_api_with_read_scopes(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(operator_key_file("operator", ["first", "second"]))
    store = KeyStore(keys_file)
    principal = store.authenticate(key_token(load_test_key_id(1), "second"))
    assert principal.scopes == {scope.value for scope in Scope}
    # Each key is limited on its own: the spread over keys keeps each within its share.
    operator = store.authenticate(key_token(OPERATOR_KEY_ID, "operator"))
    assert principal.limit_key != operator.limit_key
    assert load_test_key_id(1) in principal.limit_key
    assert "second" not in keys_file.read_text()
    assert len(json.loads(keys_file.read_text())["keys"]) == 3


def test_a_stack_with_the_load_test_meets_every_rule() -> None:
    assert violations(_enabled().manifests) == []


def test_the_sla_floor_sets_the_default_rate() -> None:
    assert SlaSettings(min_requests_per_second=200).load_test_rate == pytest.approx(220)
