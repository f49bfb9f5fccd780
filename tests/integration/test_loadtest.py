"""`rtap loadtest --stack local` on the running local platform, through the real CLI:
Locust loads the API and produces events while canaries are polled until queryable,
and the verdict holds every line of the local stack's `sla` block. The same run with an
impossible line, run in Locust's distributed mode (a master and two workers), exits 1
and names it.

The platform is shared with the tests that run before, among them the lag test's burst
of 500,000 events; `rtap loadtest` waits until the platform has settled
(rtap/local/runs/loadtest.py), as it does for a user who runs it after a benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from rtap.local.processes.local_processes import LocalProcesses

pytestmark = pytest.mark.integration

INGEST_RATE = 100


def run_loadtest(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtap.cli", "loadtest", "--stack", "local", *args],
        env={**os.environ, **environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,  # the settling wait (up to 240 s) and the run
        check=False,
    )


def test_a_short_load_test_holds_every_line_of_the_local_sla(
    processes: LocalProcesses, platform_environ: dict[str, str], tmp_path: Path
) -> None:
    verdict_file = tmp_path / "verdict.json"
    # 100 events/s: at 200 the two cores saturated even on a fresh store (dashboard p95
    # 560-1400 ms against 81-290 ms at 100; docs/loadtests.md, "A two-core host").
    done = run_loadtest(
        platform_environ,
        "--duration",
        "20",
        "--warmup",
        "15",
        "--ingest-rate",
        str(INGEST_RATE),
        "--json",
        str(verdict_file),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = orjson.loads(verdict_file.read_bytes())
    lines = {line["line"]: line for line in verdict["lines"]}
    assert verdict["passed"] and verdict["breached"] == []
    sla = processes.settings.sla
    expected = {"sla.queryP99Ms", "sla.availabilityTarget", "sla.minRequestsPerSecond"}
    expected |= {"sla.ackP99Ms", "sla.freshnessP95Seconds"}
    expected |= {
        f"sla.endpoints.{group}.{q}"
        for group in ("dashboard", "drilldown", "graphql")
        for q in ("p95Ms", "p99Ms")
    }
    assert set(lines) == expected
    # Every line was measured from samples (a line without samples fails as unmeasured).
    assert all(isinstance(line["measured"], float | int) for line in lines.values()), lines
    assert lines["sla.minRequestsPerSecond"]["target"] == sla.min_requests_per_second
    assert lines["sla.endpoints.graphql.p99Ms"]["target"] == sla.endpoints.graphql.p99_ms
    requests = verdict["requests"]
    # Every part of the suite ran and answered: both APIs, acknowledgements, canaries.
    for name in (
        "dashboard:counts",
        "drilldown:user-events",
        "graphql:panels",
        "ingest:ack",
        "freshness:canary",
    ):
        assert requests[name]["requests"] > 0, name
        assert requests[name]["failures"] == 0, name
    assert requests["ingest:ack"]["requests"] >= INGEST_RATE * 15
    run_dir = Path(verdict["plot"]).parent
    assert (run_dir / "locust.html").stat().st_size > 0
    assert (run_dir / "locust_stats_history.csv").stat().st_size > 0
    assert not (run_dir / "api-keys.json").exists()  # the keys do not outlive the run
    assert "every SLA line held" in done.stdout


def test_an_impossible_line_fails_the_run_and_is_named(
    processes: LocalProcesses, platform_environ: dict[str, str], tmp_path: Path
) -> None:
    impossible = {**platform_environ, "RTAP_SLA__MIN_REQUESTS_PER_SECOND": "1000000"}
    verdict_file = tmp_path / "verdict.json"
    done = run_loadtest(
        impossible,
        # Long enough for whole seconds in the steady part (after 1/4, before the last 2 s).
        "--duration",
        "10",
        "--warmup",
        "0",
        "--rate",
        "20",
        "--ingest-rate",
        "0",
        # In Locust's distributed mode: the master judges what its two workers measured.
        "--workers",
        "2",
        "--json",
        str(verdict_file),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    verdict = orjson.loads(verdict_file.read_bytes())
    assert "sla.minRequestsPerSecond" in verdict["breached"]
    line = next(one for one in verdict["lines"] if one["line"] == "sla.minRequestsPerSecond")
    assert line["target"] == 1_000_000 and 0 < line["measured"] < 1_000_000
    assert "SLA breached:" in done.stdout and "sla.minRequestsPerSecond" in done.stdout
    # Both workers ran their share of the open model: each reported requests.
    log = (Path(verdict["plot"]).parent / "locust.log").read_text()
    assert log.count("reported as ready") == 2, log[-2000:]
    assert verdict["requests"]["dashboard:counts"]["requests"] > 0
    # An API-only run leaves the ingest lines out instead of failing them.
    assert "sla.ackP99Ms" not in {one["line"] for one in verdict["lines"]}
