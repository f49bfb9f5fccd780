"""The soak's figures: the API under a steady mixed load while the pipeline ingests, for
long enough that a leak or a slow drift shows (`rtap bench soak`).

What it reports comes from three places: the load test's verdict (error share, p99, per
request class), the ingest run's exactly-once verification, and the memory (RSS) of each
of the platform's processes, sampled every few seconds from start to end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from loadtests.history import history_row
from loadtests.ingest import ProcessGroups
from loadtests.plots import pyplot

# The soak's error-share target (issue 15): under 0.1% of requests failed.
ERROR_SHARE_TARGET = 0.001
_MIB = 2**20
# What the soak keeps of the ingest run's verified summary (rtap/local/runs/pipeline_run.py).
_INGEST_FIGURES = (
    "verdict", "produced", "valid", "stored_raw", "duplicates", "missing", "unexpected",
    "rollup_mismatches", "producer_rate_eps", "throughput_eps", "freshness_p95_s",
    "freshness_p99_s", "problems", "restarts",
)  # fmt: skip


def resident_memory(groups: ProcessGroups) -> dict[str, int]:
    """Resident bytes per component: each of its processes' RSS, summed."""
    usage: dict[str, int] = {}
    for name, processes in groups().items():
        for process in processes:
            try:
                rss = int(process.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
            usage[name] = usage.get(name, 0) + rss
    return usage


class MemoryTrack:
    """RSS per component every `interval_s`, in a thread, from start() to stop()."""

    def __init__(self, groups: ProcessGroups, interval_s: float = 5.0) -> None:
        self._groups = groups
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="memory-track", daemon=True)
        self.samples: list[tuple[float, dict[str, int]]] = []

    def start(self) -> None:
        self._started = time.monotonic()
        self.samples.append((0.0, resident_memory(self._groups)))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic() - self._started, resident_memory(self._groups)))

    def _follow(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.samples.append((time.monotonic() - self._started, resident_memory(self._groups)))


def memory_change(samples: list[tuple[float, dict[str, int]]]) -> dict[str, dict[str, float]]:
    """Per component, MiB at the first and last sample and the change between them."""
    if not samples:
        return {}
    first, last = samples[0][1], samples[-1][1]
    return {
        name: {
            "start_mib": first.get(name, 0) / _MIB,
            "end_mib": last.get(name, 0) / _MIB,
            "change_mib": (last.get(name, 0) - first.get(name, 0)) / _MIB,
        }
        for name in sorted(set(first) | set(last))
    }


def _line(verdict: Mapping[str, Any], key: str) -> float | None:
    for line in verdict.get("lines", []):
        if line["line"] == key:
            return None if line["measured"] is None else float(line["measured"])
    return None


def soak_summary(
    verdict: Mapping[str, Any],
    ingest: Mapping[str, Any],
    samples: list[tuple[float, dict[str, int]]],
    offered: Mapping[str, float],
) -> dict[str, Any]:
    """The soak's headline figures, from the load's verdict and the ingest's summary."""
    requests = verdict.get("requests", {})
    total = sum(int(one["requests"]) for one in requests.values())
    failed = sum(int(one["failures"]) for one in requests.values())
    error_share = failed / total if total else None
    return {
        "offered": dict(offered),
        "requests": total,
        "failed": failed,
        "error_share": error_share,
        "error_share_target": ERROR_SHARE_TARGET,
        "query_p99_ms": _line(verdict, "sla.queryP99Ms"),
        "lowest_rps": _line(verdict, "sla.minRequestsPerSecond"),
        "sla_passed": bool(verdict.get("passed")),
        "sla_breached": list(verdict.get("breached", [])),
        "per_request": requests,
        "ingest": {key: ingest.get(key) for key in _INGEST_FIGURES},
        "memory": memory_change(samples),
        "exactly_once": ingest.get("verdict") == "pass",
    }


def print_soak(console: Console, summary: Mapping[str, Any]) -> None:
    share = summary["error_share"]
    ingest = summary["ingest"]
    p99 = summary["query_p99_ms"]
    table = Table(title="rtap bench soak", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("API requests (failed)", f"{summary['requests']:,} ({summary['failed']:,})")
    share_text = "—" if share is None else f"{share:.4%}"
    table.add_row("error share (target < 0.1%)", share_text)
    table.add_row("API p99", "—" if p99 is None else f"{p99:,.0f} ms")
    table.add_row(
        "ingest: produced / stored / duplicates / missing",
        f"{ingest['valid'] or 0:,} / {ingest['stored_raw'] or 0:,} / "
        f"{ingest['duplicates']} / {ingest['missing']}",
    )
    table.add_row("exactly once", "pass" if summary["exactly_once"] else "FAIL")
    console.print(table)
    memory = Table(title="resident memory (MiB)")
    for column in ("process", "start", "end", "change"):
        memory.add_column(column, justify="right" if column != "process" else "left")
    for name, figure in summary["memory"].items():
        memory.add_row(
            name, f"{figure['start_mib']:,.0f}", f"{figure['end_mib']:,.0f}",
            f"{figure['change_mib']:+,.0f}",
        )  # fmt: skip
    console.print(memory)


def plot_soak_memory(samples: list[tuple[float, dict[str, int]]], path: Path) -> Path:
    """Each component's RSS over the soak: a leak is a line that keeps climbing."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(9, 4.5))
    names = sorted({name for _, usage in samples for name in usage})
    minutes = [seconds / 60 for seconds, _ in samples]
    for name in names:
        axis.plot(minutes, [usage.get(name, 0) / _MIB for _, usage in samples], label=name)
    axis.set_xlabel("minutes into the soak")
    axis.set_ylabel("resident memory (MiB)")
    axis.set_title("rtap bench soak: memory of each process")
    axis.legend(fontsize="small")
    axis.grid(True, alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def soak_row(project_dir: Path, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The history row: load offered, error share, p99, exactly-once, memory changes."""
    figures: dict[str, Any] = {
        **{f"offered_{key}": value for key, value in summary["offered"].items()},
        "requests": summary["requests"],
        "error_share": summary["error_share"],
        "query_p99_ms": summary["query_p99_ms"],
        "exactly_once": summary["exactly_once"],
        **{
            f"memory_change_mib_{name}": round(figure["change_mib"], 1)
            for name, figure in summary["memory"].items()
        },
    }
    return history_row("soak", project_dir, figures)
