"""`rtap bench ingest`: sustained end-to-end throughput and freshness, measured, not asserted."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from rtap.local.bench_record import append_row, row_prefix
from rtap.local.processes import ProcessRegistry
from rtap.local.runner import PipelineRun, write_summary
from rtap.local.session import RunRequest, run_pipeline, running_stack, stop_on_signals
from rtap.local.stack import COMPONENTS, LocalStack

_INGEST_HEADER = (
    "| date (UTC) | commit | machine | command | offered ev/s | sustained ev/s "
    "| freshness p50 / p95 / p99 (s) | verdict |\n"
    "|---|---|---|---|---|---|---|---|\n"
)


class CpuSampler:
    """CPU seconds used by each process rtap runs (and by this one, the producer)."""

    def __init__(self, registry: ProcessRegistry) -> None:
        self._registry = registry
        self._start = self.sample()

    def sample(self) -> dict[str, float]:
        usage: dict[str, float] = {}
        for name in COMPONENTS:
            for process in self._registry.members(name):
                try:
                    times = process.cpu_times()
                    label = f"{name}: {process.name()}"
                except psutil.NoSuchProcess:
                    continue
                usage[label] = usage.get(label, 0.0) + times.user + times.system
        own = psutil.Process().cpu_times()
        usage["rtap CLI (producer)"] = own.user + own.system
        return usage

    def used_since_start(self) -> dict[str, float]:
        now = self.sample()
        return {label: now[label] - self._start.get(label, 0.0) for label in now}


def run_ingest_benchmark(
    local: LocalStack,
    *,
    rate: int,
    duration: float,
    warmup: float,
    json_path: Path | None,
    record: bool,
    console: Console,
) -> int:
    settings, project_dir = local.settings, local.project_dir
    producer = settings.producer.model_copy(update={"rate_per_second": rate})
    stop = threading.Event()
    with stop_on_signals(stop), running_stack(local, console) as running:
        if warmup > 0:
            # A fresh JVM keeps compiling hot code for a minute or two; the figures are
            # for the steady state a long-running platform is in.
            warm = PipelineRun(local, running.control, producer, running.supervisor)
            warm.prepare()
            with console.status(f"warming up at {rate:,} events/s for {warmup:.0f} s"):
                warm.produce(warmup, stop)
        cpu = CpuSampler(local.registry)
        started = time.time()
        run = run_pipeline(local, running, console, RunRequest(duration, producer), stop)
        if run is None or run.summary is None:
            return 1
        cpu_seconds = cpu.used_since_start()
        wall = time.time() - started
        timeline = run.timeline()
        stages = run.stage_seconds()
    summary = run.summary
    _print_breakdown(console, cpu_seconds, wall, stages)
    plot = _plot(
        timeline,
        rate,
        settings.sla.freshness_p95_seconds,
        (project_dir / "docs" / "img" if record else run.directory) / f"ingest-{run.run_id}.png",
    )
    console.print(f"plot: {plot}")
    details = {
        **summary.to_dict(),
        "offered_eps": rate,
        "warmup_seconds": warmup,
        "cpu_seconds": cpu_seconds,
        "wall_seconds": wall,
        "stage_seconds": stages,
        "plot": str(plot),
        "timeline": timeline,
    }
    if json_path is not None:
        write_summary(summary, json_path, extra=details)
    if record:
        _append_row(
            project_dir / "docs" / "benchmarks.md", rate, summary.to_dict(), plot, project_dir
        )
    return 0 if summary.passed else 1


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


def _plot(timeline: list[dict[str, Any]], rate: int, target_s: float, path: Path) -> Path:
    # matplotlib takes about half a second to import; only the benchmark needs it.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    ingest = [b for b in timeline if b["query"] == "ingest" and b["rows"]]
    path.parent.mkdir(parents=True, exist_ok=True)
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
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _append_row(
    path: Path, rate: int, summary: dict[str, Any], plot: Path, project_dir: Path
) -> None:
    freshness = " / ".join(
        "—" if summary[k] is None else f"{summary[k]:.2f}"
        for k in ("freshness_p50_s", "freshness_p95_s", "freshness_p99_s")
    )
    # A restart during the run (the supervisor recovered a crash) skews its figures.
    restarts = "".join(f", {name} restarted {n}x" for name, n in summary["restarts"].items())
    row = (
        f"{row_prefix(project_dir)}{rate:,} | {summary['throughput_eps']:,.0f} | "
        f"{freshness} | {summary['verdict']}{restarts} ([plot](img/{plot.name})) |\n"
    )
    append_row(path, "Ingest", _INGEST_HEADER, row)
