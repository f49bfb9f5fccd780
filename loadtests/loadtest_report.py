"""How a load test's result is shown: the SLA table (line, target, measured, pass or
fail), the requests per name, and a plot of latency percentiles and rates over time
drawn from Locust's per-second statistics."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtests.plots import pyplot
from loadtests.sla_gate import API_GROUPS
from workloads.settings import SlaSettings


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    if unit == "ratio":
        return f"{value:.3%}"
    return f"{value:,.1f} {unit}" if unit == "rps" else f"{value:,.3g} {unit}"


def print_verdict(console: Console, verdict: dict[str, Any]) -> None:
    table = Table(title=f"SLA verdict ({verdict['shape']} shape)")
    for column in ("line", "what", "target", "measured", ""):
        table.add_column(column)
    for line in verdict["lines"]:
        bound = "≥" if line["at_least"] else "≤"
        table.add_row(
            line["line"],
            line["what"],
            f"{bound} {_figure(line['target'], line['unit'])}",
            _figure(line["measured"], line["unit"]),
            "[green]pass[/]" if line["passed"] else "[bold red]FAIL[/]",
        )
    console.print(table)
    requests = Table(title="requests")
    for column in ("name", "requests", "failed", "p50 ms", "p95 ms", "p99 ms"):
        requests.add_column(column, justify="right")
    for name, figures in verdict["requests"].items():
        requests.add_row(
            name,
            f"{figures['requests']:,}",
            f"{figures['failures']:,}",
            *(
                f"{figures[p]:g}" if figures[p] is not None else "—"
                for p in ("p50_ms", "p95_ms", "p99_ms")
            ),
        )
    console.print(requests)
    if verdict["passed"]:
        console.print("[green]every SLA line held[/]")
    else:
        console.print(f"[bold red]SLA breached:[/] {', '.join(verdict['breached'])}")


def _history(path: Path) -> dict[str, list[tuple[float, dict[str, str]]]]:
    """Per request name, its (seconds since start, row) of Locust's per-second stats."""
    rows: dict[str, list[tuple[float, dict[str, str]]]] = defaultdict(list)
    if not path.exists():
        return rows
    with path.open(newline="") as source:
        table = list(csv.DictReader(source))
    if not table:
        return rows
    first = float(table[0]["Timestamp"])
    for row in table:
        rows[row["Name"]].append((float(row["Timestamp"]) - first, row))
    return rows


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:  # Locust writes N/A before a name has answers
        return float("nan")


def _group_series(
    by_name: dict[str, list[tuple[float, dict[str, str]]]], group: str
) -> tuple[list[float], list[float], list[float]]:
    """Seconds, the worst p95 of the group's names and their summed requests/s."""
    worst: dict[float, float] = {}
    total: dict[float, float] = defaultdict(float)
    for name, rows in by_name.items():
        if name.split(":", 1)[0] != group:
            continue
        for second, row in rows:
            p95 = _number(row["95%"])
            if not math.isnan(p95):
                worst[second] = max(worst.get(second, 0.0), p95)
            total[second] += _number(row["Requests/s"])
    seconds = sorted(total)
    return seconds, [worst.get(t, float("nan")) for t in seconds], [total[t] for t in seconds]


def plot_run(history: Path, verdict: dict[str, Any], sla: SlaSettings, run_dir: Path) -> Path:
    """p95 per API group (10-second windows, as Locust computes them) against its
    target (dotted), and requests/s per group, over the run."""
    plt = pyplot()
    by_name = _history(history)
    figure, (latency, rate) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for group in (*API_GROUPS, "ingest", "freshness"):
        seconds, worst, per_second = _group_series(by_name, group)
        if not seconds:
            continue
        rate.plot(seconds, per_second, label=f"{group} per second")
        if group in API_GROUPS:
            line = latency.plot(seconds, worst, label=f"{group} p95")[0]
            target = getattr(sla.endpoints, group).p95_ms
            latency.axhline(target, color=line.get_color(), linestyle=":", linewidth=1)
    latency.set_ylabel("p95 latency, last 10 s (ms)")
    latency.set_yscale("log")
    latency.legend(fontsize="small")
    rate.set_ylabel("per second")
    rate.set_xlabel("seconds into the run")
    rate.legend(fontsize="small")
    outcome = "passed" if verdict["passed"] else "breached: " + ", ".join(verdict["breached"])
    figure.suptitle(f"rtap loadtest ({verdict['shape']}): {outcome}", fontsize="medium")
    figure.tight_layout()
    path = run_dir / "loadtest.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
