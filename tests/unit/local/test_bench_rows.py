from __future__ import annotations

from pathlib import Path
from typing import Any

from rtap.local.bench import _append_row

SUMMARY: dict[str, Any] = {
    "throughput_eps": 49_055.4,
    "freshness_p50_s": 0.8,
    "freshness_p95_s": 1.32,
    "freshness_p99_s": None,
    "verdict": "pass",
    "restarts": {},
}


def _row(tmp_path: Path, summary: dict[str, Any]) -> str:
    benchmarks = tmp_path / "benchmarks.md"
    _append_row(benchmarks, 50_000, summary, tmp_path / "ingest-1.png", tmp_path)
    return benchmarks.read_text().splitlines()[-1]


def test_an_ingest_row_carries_the_figures_and_the_plot(tmp_path: Path) -> None:
    row = _row(tmp_path, SUMMARY)
    assert "| 50,000 | 49,055 | 0.80 / 1.32 / — | pass ([plot](img/ingest-1.png)) |" in row


def test_an_ingest_row_says_which_components_were_restarted(tmp_path: Path) -> None:
    row = _row(tmp_path, {**SUMMARY, "restarts": {"platform": 1, "kafka": 2}})
    assert "| pass, platform restarted 1x, kafka restarted 2x ([plot]" in row
