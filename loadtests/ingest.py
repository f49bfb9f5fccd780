"""The ingest benchmark: sustained end-to-end throughput and freshness, measured, never
asserted.

It offers events at a constant rate to a running platform, first for a warm-up that is
not measured, then for the measured run, and reports the throughput reached, freshness
percentiles, the CPU each process used and the time per pipeline stage, with a plot.
The platform comes from the caller (`rtap bench ingest` brings the local one up) through
`PlatformUnderLoad`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil
from rich.console import Console
from rich.table import Table

from loadtests.history import history_row, record, write_json
from loadtests.plots import pyplot

# The producer runs in the CLI's own process.
PRODUCER_LABEL = "rtap CLI (producer)"
ProcessGroups = Callable[[], Mapping[str, Iterable[psutil.Process]]]


@dataclass(frozen=True)
class MeasuredRun:
    """A verified producing run, as the platform reports it once it has drained."""

    run_id: str
    # The run's folder: its ground truth and summary, and here the benchmark's files.
    directory: Path
    summary: dict[str, Any]
    passed: bool


@dataclass(frozen=True)
class Breakdown:
    """Where the last measured run's time went, per batch and per stage."""

    timeline: list[dict[str, Any]]
    stage_seconds: dict[str, float]


class PlatformUnderLoad(Protocol):
    """A running platform the benchmark can load and look into."""

    def warm_up(self, rate: int, seconds: float) -> None:
        """Produce at `rate` for `seconds`, not measured."""

    def measure(self, rate: int, seconds: float) -> MeasuredRun | None:
        """Produce at `rate` for `seconds`, drain and verify; None when stopped early."""

    def breakdown(self) -> Breakdown:
        """The last measured run's timeline and stage times (asked for once its CPU and
        wall time are taken, so that asking is not counted)."""

    def process_groups(self) -> Mapping[str, Iterable[psutil.Process]]:
        """The platform's live processes, by component."""


@dataclass(frozen=True)
class IngestRequest:
    rate: int
    duration_s: float
    warmup_s: float
    freshness_target_s: float
    json_path: Path | None
    record: bool
    project_dir: Path


@dataclass(frozen=True)
class IngestMeasurement:
    run: MeasuredRun
    cpu_seconds: dict[str, float]
    wall_seconds: float
    breakdown: Breakdown


class CpuSampler:
    """CPU seconds each of the platform's processes used, and this one (the producer)."""

    def __init__(self, groups: ProcessGroups) -> None:
        self._groups = groups
        self._start = self.sample()

    def sample(self) -> dict[str, float]:
        usage: dict[str, float] = {}
        for name, processes in self._groups().items():
            for process in processes:
                try:
                    times = process.cpu_times()
                    label = f"{name}: {process.name()}"
                except psutil.NoSuchProcess:
                    continue
                usage[label] = usage.get(label, 0.0) + times.user + times.system
        own = psutil.Process().cpu_times()
        usage[PRODUCER_LABEL] = own.user + own.system
        return usage

    def used_since_start(self) -> dict[str, float]:
        now = self.sample()
        return {label: now[label] - self._start.get(label, 0.0) for label in now}


def measure_ingest(
    platform: PlatformUnderLoad, request: IngestRequest, console: Console
) -> IngestMeasurement | None:
    """Warm up, then the measured run; None when it was stopped early."""
    if request.warmup_s > 0:
        # A fresh JVM keeps compiling hot code for a minute or two; the figures are for
        # the steady state a long-running platform is in.
        with console.status(
            f"warming up at {request.rate:,} events/s for {request.warmup_s:.0f} s"
        ):
            platform.warm_up(request.rate, request.warmup_s)
    cpu = CpuSampler(platform.process_groups)
    started = time.time()
    run = platform.measure(request.rate, request.duration_s)
    if run is None:
        return None
    cpu_seconds, wall_seconds = cpu.used_since_start(), time.time() - started
    return IngestMeasurement(run, cpu_seconds, wall_seconds, platform.breakdown())


def report_ingest(measurement: IngestMeasurement, request: IngestRequest, console: Console) -> int:
    """Print where the time went, write the JSON and the plot into the run's folder (and
    `--json`), record the figures when asked; the exit code (1 if verification failed)."""
    run, breakdown = measurement.run, measurement.breakdown
    _print_breakdown(
        console, measurement.cpu_seconds, measurement.wall_seconds, breakdown.stage_seconds
    )
    plot = plot_ingest(breakdown.timeline, request.rate, request.freshness_target_s, run.directory)
    document = {
        **run.summary,
        "offered_eps": request.rate,
        "warmup_seconds": request.warmup_s,
        "cpu_seconds": measurement.cpu_seconds,
        "wall_seconds": measurement.wall_seconds,
        "stage_seconds": breakdown.stage_seconds,
        "plot": str(plot),
        "timeline": breakdown.timeline,
    }
    written = write_json(run.directory / "bench-ingest.json", document)
    console.print(f"figures: {written}\nplot: {plot}")
    if request.json_path is not None:
        write_json(request.json_path, document)
    if request.record:
        history = record(request.project_dir, ingest_row(request, run.summary))
        console.print(f"recorded in {history}")
    return 0 if run.passed else 1


def ingest_row(request: IngestRequest, summary: dict[str, Any]) -> dict[str, Any]:
    """The history row of a run: the headline figures, the verdict, and any restart (a
    crash the supervisor recovered from skews the figures)."""

    def seconds(key: str) -> float | None:
        value = summary[key]
        return None if value is None else round(value, 2)

    figures = {
        "offered_eps": request.rate,
        "sustained_eps": round(summary["throughput_eps"]),
        "freshness_p50_s": seconds("freshness_p50_s"),
        "freshness_p95_s": seconds("freshness_p95_s"),
        "freshness_p99_s": seconds("freshness_p99_s"),
    }
    return {
        **history_row("ingest", request.project_dir, figures),
        "verdict": summary["verdict"],
        "restarts": summary["restarts"],
    }


def _print_breakdown(
    console: Console, cpu: dict[str, float], wall: float, stages: dict[str, float]
) -> None:
    table = Table(title="where the time goes")
    table.add_column("process")
    table.add_column("CPU s", justify="right")
    table.add_column("cores used", justify="right")
    for label, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
        table.add_row(label, f"{seconds:,.1f}", f"{seconds / wall:.2f}")
    console.print(table)
    stage_table = Table(title="per-stage time during the run (s, summed over batches)")
    stage_table.add_column("stage")
    stage_table.add_column("seconds", justify="right")
    for stage, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        if seconds >= 0.05:  # noqa: PLR2004 - hide noise below 50 ms
            stage_table.add_row(stage, f"{seconds:,.2f}")
    console.print(stage_table)


def plot_ingest(timeline: list[dict[str, Any]], rate: int, target_s: float, folder: Path) -> Path:
    """Stored events/s against the offered rate, and freshness per batch against the SLA."""
    plt = pyplot()
    ingest = [b for b in timeline if b["query"] == "ingest" and b["rows"]]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    if ingest:
        origin = int(ingest[0]["finished_at"])
        stored = [0] * (int(ingest[-1]["finished_at"]) - origin + 1)
        for batch in ingest:
            stored[int(batch["finished_at"]) - origin] += batch["rows"]
        window = 5  # each batch lands in one second: average a few seconds to show a rate
        smoothed = [
            sum(stored[max(0, i - window + 1) : i + 1]) / min(window, i + 1)
            for i in range(len(stored))
        ]
        top.plot(range(len(stored)), smoothed, label=f"stored events/s ({window} s average)")
        times = [b["finished_at"] - origin for b in ingest]
        bottom.plot(times, [b["freshness_p50_s"] for b in ingest], label="p50 per batch")
        bottom.plot(times, [b["freshness_p95_s"] for b in ingest], label="p95 per batch")
    top.axhline(rate, color="grey", linestyle="--", label="offered")
    top.set_ylabel("events/s")
    top.legend()
    bottom.axhline(target_s, color="red", linestyle="--", label="SLA p95")
    bottom.set_ylabel("freshness (s)")
    bottom.set_xlabel("seconds since first batch")
    bottom.legend()
    figure.suptitle(f"rtap bench ingest --rate {rate}")
    figure.tight_layout()
    path = folder / "bench-ingest.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
