"""Where a load test's load goes: a deployed stack's outputs, the keys a rate needs,
and the Locust command the driver runs."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.errors import BenchmarkError
from loadtests.loadtest_run import LoadTarget, LoadTestRequest, locust_command, worker_command
from loadtests.targets import deployed_target
from rtap.local.runs.loadtest import events_behind
from workloads.serving.auth import load_test_keys_needed
from workloads.settings import WorkloadSettings


def test_a_deployed_stacks_outputs_give_the_api_and_its_key() -> None:
    outputs = {"apiHost": "api.example.com", "apiKey": "rtap_k_s", "kafkaBootstrap": "k:9093"}
    target = deployed_target("prod", outputs, {"security.protocol": "SASL_SSL"})
    assert target.api_url == "https://api.example.com"
    assert target.api_keys == ["rtap_k_s"]
    assert target.kafka_config == {"bootstrap.servers": "k:9093", "security.protocol": "SASL_SSL"}
    assert deployed_target("prod", outputs, None).kafka_config is None


def test_a_missing_output_is_named() -> None:
    with pytest.raises(BenchmarkError, match="stack dev has no output apiKey"):
        deployed_target("dev", {"apiHost": "api.example.com"}, None)


def test_keys_keep_each_within_half_its_rate_limit() -> None:
    # 6000 a minute is 100/s; half of it is 50/s per key.
    assert load_test_keys_needed(10, 6000) == 1
    assert load_test_keys_needed(50, 6000) == 1
    assert load_test_keys_needed(51, 6000) == 2
    assert load_test_keys_needed(1000, 6000) == 20


def test_the_command_runs_the_suite_headless_with_the_runs_options(tmp_path: Path) -> None:
    request = LoadTestRequest(
        shape="spike", duration_s=30, viewers=7, rate=55, ingest_rate=200,
        run_dir=tmp_path, settings=WorkloadSettings(),
    )  # fmt: skip
    with_kafka = LoadTarget("t", "http://127.0.0.1:1", ["k"], {"bootstrap.servers": "b:1"})
    command = locust_command(request, with_kafka)
    assert command[1:4] == ["-m", "locust", "-f"]
    assert "--headless" in command
    options = dict(itertools.pairwise(command))
    assert options["--rtap-shape"] == "spike"
    assert options["--rtap-viewers"] == "7"
    assert options["--rtap-ingest-rate"] == "200"
    assert options["--rtap-kafka-config"] == str(tmp_path / "kafka.json")
    assert options["--host"] == "http://127.0.0.1:1"
    # Without Kafka settings there are no ingest users, whatever the rate asked.
    api_only = locust_command(request, LoadTarget("t", "http://127.0.0.1:1", ["k"], None))
    assert dict(itertools.pairwise(api_only))["--rtap-ingest-rate"] == "0.0"
    assert "--rtap-kafka-config" not in api_only


def test_a_distributed_run_is_a_master_and_workers_with_the_same_suite_options(
    tmp_path: Path,
) -> None:
    request = LoadTestRequest(
        shape="open", duration_s=30, viewers=7, rate=90, ingest_rate=0,
        run_dir=tmp_path, settings=WorkloadSettings(), workers=3, master_port=41234,
    )  # fmt: skip
    target = LoadTarget("t", "http://127.0.0.1:1", ["k"], None)
    master = dict(itertools.pairwise(locust_command(request, target)))
    worker = dict(itertools.pairwise(worker_command(request, target)))
    assert "--master" in master and master["--expect-workers"] == "3"
    assert master["--master-bind-port"] == worker["--master-port"] == "41234"
    assert master["--master-bind-host"] == worker["--master-host"] == "127.0.0.1"
    assert "--worker" in worker
    # Three schedulers, one a worker, share the rate; every process reads the same options.
    assert master["--rtap-arrival-users"] == "3"
    assert {k: v for k, v in master.items() if k.startswith("--rtap-")} == {
        k: v for k, v in worker.items() if k.startswith("--rtap-")
    }
    single = dict(itertools.pairwise(locust_command(replace(request, workers=0), target)))
    assert "--master" not in single and single["--rtap-arrival-users"] == "1"


def test_a_query_is_behind_by_the_events_it_has_not_read() -> None:
    log_end = {0: 100, 1: 50}
    queries: dict[str, dict[str, Any]] = {
        "ingest": {"end_offsets": {"0": 100, "1": 50}},
        "sessions": {"end_offsets": {"0": 90, "1": 20}},
        # A query that reports no offsets is not waited for: nothing says where it is.
        "unreported": {"active": True, "end_offsets": {}},
    }
    assert events_behind(queries, log_end) == {"ingest": 0, "sessions": 40}
