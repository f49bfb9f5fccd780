"""The soak's figures: memory per process from start to end, and the headline summary."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from loadtests.soak import memory_change, resident_memory, soak_row, soak_summary

MIB = 2**20


class _Gone(psutil.Process):
    """A process that exited between being listed and being read."""

    def memory_info(self) -> psutil._pslinux.pmem:  # type: ignore[name-defined]
        raise psutil.NoSuchProcess(self.pid)


def test_memory_is_summed_per_component_and_a_gone_process_is_skipped() -> None:
    me = psutil.Process(os.getpid())
    gone = _Gone(os.getpid())
    usage = resident_memory(lambda: {"platform": [me, me], "sessions": [gone]})
    assert usage["platform"] >= 2 * 10 * MIB  # a Python process with pytest loaded
    assert "sessions" not in usage


def test_the_change_is_from_the_first_sample_to_the_last() -> None:
    samples = [
        (0.0, {"platform": 500 * MIB, "redis-server": 10 * MIB}),
        (300.0, {"platform": 900 * MIB, "redis-server": 11 * MIB}),
        (600.0, {"platform": 700 * MIB, "prometheus": 80 * MIB}),
    ]
    change = memory_change(samples)
    assert change["platform"] == {"start_mib": 500.0, "end_mib": 700.0, "change_mib": 200.0}
    assert change["redis-server"]["change_mib"] == -10.0  # gone by the end
    assert change["prometheus"]["start_mib"] == 0.0
    assert memory_change([]) == {}


def _verdict(failures: int) -> dict[str, object]:
    return {
        "passed": False,
        "breached": ["sla.queryP99Ms"],
        "lines": [
            {"line": "sla.queryP99Ms", "measured": 410.0},
            {"line": "sla.minRequestsPerSecond", "measured": None},
        ],
        "requests": {
            "dashboard:counts": {"requests": 60_000, "failures": failures},
            "graphql:panels": {"requests": 40_000, "failures": 0},
        },
    }


def test_the_summary_reads_the_error_share_p99_and_the_exactly_once_verdict() -> None:
    ingest = {"verdict": "pass", "valid": 3_000_000, "stored_raw": 3_000_000, "duplicates": 0}
    samples = [(0.0, {"platform": MIB}), (10.0, {"platform": 2 * MIB})]
    summary = soak_summary(_verdict(150), ingest, samples, {"api_rps": 1000.0})
    assert summary["error_share"] == pytest.approx(0.0015)
    assert summary["error_share"] > summary["error_share_target"]
    assert summary["query_p99_ms"] == 410.0
    assert summary["lowest_rps"] is None
    assert summary["sla_breached"] == ["sla.queryP99Ms"]
    assert summary["exactly_once"] is True
    assert summary["ingest"]["missing"] is None  # absent from the ingest summary
    assert summary["memory"]["platform"]["change_mib"] == 1.0


def test_a_failed_ingest_verdict_is_not_exactly_once_and_the_row_says_so() -> None:
    summary = soak_summary(_verdict(0), {"verdict": "fail"}, [], {"api_rps": 1000.0})
    assert summary["exactly_once"] is False
    assert summary["error_share"] == 0.0
    row = soak_row(Path("."), summary)
    assert row["benchmark"] == "soak"
    assert row["figures"]["exactly_once"] is False
    assert row["figures"]["offered_api_rps"] == 1000.0
