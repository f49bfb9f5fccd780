"""`rtap bench soak` and `rtap bench query` through the real CLI, short and small: the
soak on the tests' platform (its ingest verified exactly once, the memory of every
process followed), the query benchmark over stores of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from loadtests.query import QUERY_CLASSES
from rtap.local.processes.local_processes import LocalProcesses

pytestmark = pytest.mark.integration


def _rtap(arguments: list[str], environ: dict[str, str], timeout_s: float) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "rtap.cli", *arguments],
        env={**os.environ, **environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_a_short_soak_verifies_its_ingest_and_follows_every_process(
    processes: LocalProcesses, platform_environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "soak.json"
    arguments = ["bench", "soak", "--rate", "40", "--ingest-rate", "300", "--duration", "12"]
    stdout = _rtap([*arguments, "--warmup", "2", "--workers", "0", "--json", str(out)],
                   platform_environ, timeout_s=600)  # fmt: skip
    figures = orjson.loads(out.read_bytes())
    assert figures["exactly_once"] is True
    ingest = figures["ingest"]
    assert ingest["valid"] > 300 * 12 * 0.9
    assert ingest["stored_raw"] == ingest["valid"]
    assert ingest["duplicates"] == ingest["missing"] == 0
    assert figures["requests"] > 40 * 12 * 0.9
    assert figures["error_share"] is not None
    assert figures["query_p99_ms"] > 0
    # Every process of the platform was followed, from before the load to after it.
    assert {"platform", "sessions", "redis", "kafka"} <= set(figures["memory"])
    assert all(m["start_mib"] > 0 and m["end_mib"] > 0 for m in figures["memory"].values())
    assert figures["memory_samples"][-1][0] >= 14
    assert Path(figures["memory_plot"]).stat().st_size > 0
    assert "exactly once" in stdout


def test_query_latency_is_measured_per_class_uncached_on_each_store(
    platform_environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "query.json"
    environ = {**platform_environ, "RTAP_LOCAL__RUN_DIR": str(tmp_path / "run")}
    sizes = ["--events", "20000", "--events", "60000"]
    _rtap(["bench", "query", *sizes, "--users", "500", "--repeats", "4", "--warmup", "1",
           "--json", str(out)], environ, timeout_s=300)  # fmt: skip
    figures = orjson.loads(out.read_bytes())
    assert [store["stored_events"] for store in figures["stores"]] == [20_000, 60_000]
    for store in figures["stores"]:
        assert set(store["classes"]) == set(QUERY_CLASSES)
        assert all(c["requests"] == 4 and c["p95_ms"] > 0 for c in store["classes"].values())
        # The seeded store has events, their rollups and their sessions.
        assert {"events_raw", "events_per_minute", "user_sessions"} <= set(store["parts"])
    assert Path(figures["plot"]).stat().st_size > 0
