"""The ingest benchmark's report: figures into the run's folder, the source tree left
alone unless the run is recorded, and history rows that carry the headline figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from loadtests.history import HISTORY_FILE
from loadtests.ingest import (
    Breakdown,
    IngestMeasurement,
    IngestRequest,
    MeasuredRun,
    ingest_row,
    measure_ingest,
    report_ingest,
)

SUMMARY: dict[str, Any] = {
    "throughput_eps": 49_055.4,
    "freshness_p50_s": 0.8,
    "freshness_p95_s": 1.3249,
    "freshness_p99_s": None,
    "verdict": "pass",
    "restarts": {},
}
TIMELINE = [
    {"query": "ingest", "rows": 25_000, "finished_at": 100.0 + i / 2, "freshness_p50_s": 0.7,
     "freshness_p95_s": 1.1}
    for i in range(20)
]  # fmt: skip


def _request(project: Path, *, record: bool, json_path: Path | None = None) -> IngestRequest:
    return IngestRequest(
        rate=50_000,
        duration_s=60,
        warmup_s=30,
        freshness_target_s=2.0,
        json_path=json_path,
        record=record,
        project_dir=project,
    )


def _measurement(run_dir: Path, summary: dict[str, Any], passed: bool = True) -> IngestMeasurement:
    run = MeasuredRun("r1", run_dir, summary, passed)
    breakdown = Breakdown(TIMELINE, {"collect": 24.4})
    return IngestMeasurement(run, {"platform: python": 26.9}, 60.0, breakdown)


def test_a_row_carries_the_headline_figures() -> None:
    row = ingest_row(_request(Path("."), record=True), SUMMARY)
    assert row["benchmark"] == "ingest"
    assert row["figures"] == {
        "offered_eps": 50_000,
        "sustained_eps": 49_055,
        "freshness_p50_s": 0.8,
        "freshness_p95_s": 1.32,
        "freshness_p99_s": None,
    }
    assert row["verdict"] == "pass" and row["restarts"] == {}
    assert row["command"].startswith("rtap ") and row["machine"] and row["commit"]


def test_a_row_says_which_components_were_restarted() -> None:
    row = ingest_row(_request(Path("."), record=True), {**SUMMARY, "restarts": {"kafka": 2}})
    assert row["restarts"] == {"kafka": 2}


def test_a_run_writes_into_its_folder_and_leaves_the_project_alone(tmp_path: Path) -> None:
    project, run_dir = tmp_path / "project", tmp_path / "run"
    project.mkdir()
    code = report_ingest(
        _measurement(run_dir, SUMMARY), _request(project, record=False), Console(file=None)
    )
    assert code == 0
    assert sorted(p.name for p in run_dir.iterdir()) == ["bench-ingest.json", "bench-ingest.png"]
    assert list(project.iterdir()) == []
    figures = json.loads((run_dir / "bench-ingest.json").read_text())
    assert figures["offered_eps"] == 50_000 and len(figures["timeline"]) == len(TIMELINE)


def test_a_recorded_run_appends_one_row_to_the_history(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    request = _request(project, record=True, json_path=tmp_path / "out.json")
    for _ in range(2):
        report_ingest(_measurement(tmp_path / "run", SUMMARY), request, Console(file=None))
    rows = [json.loads(line) for line in (project / HISTORY_FILE).read_text().splitlines()]
    assert [row["figures"]["sustained_eps"] for row in rows] == [49_055, 49_055]
    assert json.loads((tmp_path / "out.json").read_text())["verdict"] == "pass"


def test_a_failed_verification_is_the_exit_code(tmp_path: Path) -> None:
    failed = _measurement(tmp_path / "run", {**SUMMARY, "verdict": "fail"}, passed=False)
    assert report_ingest(failed, _request(tmp_path, record=False), Console(file=None)) == 1


class RecordingPlatform:
    """A platform under load that records what the benchmark asks of it, in order."""

    def __init__(self, run_dir: Path) -> None:
        self.calls: list[str] = []
        self._run_dir = run_dir

    def warm_up(self, rate: int, seconds: float) -> None:
        self.calls.append(f"warm up {rate}/s {seconds:.0f} s")

    def measure(self, rate: int, seconds: float) -> MeasuredRun | None:
        self.calls.append(f"measure {rate}/s {seconds:.0f} s")
        return MeasuredRun("r1", self._run_dir, SUMMARY, True)

    def process_groups(self) -> dict[str, list[Any]]:
        self.calls.append("sample CPU")
        return {}

    def breakdown(self) -> Breakdown:
        self.calls.append("breakdown")
        return Breakdown(TIMELINE, {})


def test_cpu_is_sampled_around_the_measured_run_only(tmp_path: Path) -> None:
    platform = RecordingPlatform(tmp_path)
    measured = measure_ingest(platform, _request(tmp_path, record=False), Console(file=None))
    assert measured is not None and measured.breakdown.timeline == TIMELINE
    # Not the warm-up, and not the asking for the timeline afterwards.
    assert platform.calls == [
        "warm up 50000/s 30 s",
        "sample CPU",
        "measure 50000/s 60 s",
        "sample CPU",
        "breakdown",
    ]
