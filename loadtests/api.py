"""The API benchmark: requests/s and latency of dashboard queries, cached and uncached.

Cached: the dashboard's four requests, answered from Redis (warmed first). Uncached:
the same queries over a different window each time, after a data-version bump, so
every request misses and runs on ClickHouse. vegeta offers a constant rate (open
loop), so queueing shows in the latencies. Figures are reported, never asserted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from rich.console import Console
from rich.table import Table

from loadtests.api_target import ApiTargetSetup, BenchServer, bench_server
from loadtests.history import history_row, record, write_json
from loadtests.plots import pyplot
from loadtests.vegeta import (
    LoadReport,
    Target,
    attack,
    latency_series,
    load_generator_pinning,
    vegeta_executable,
)
from loadtests.vegeta import write_targets as write_vegeta_targets
from workloads.storage.data_version import DataVersion


@dataclass(frozen=True)
class ApiBenchRequest:
    events: int
    users: int
    cached_rate: int
    uncached_rate: int
    duration_s: float
    warmup_s: float
    json_path: Path | None
    record: bool


@dataclass(frozen=True)
class ApiBenchPlaces:
    # This run's folder: its JSON, plot and vegeta's raw results.
    run_dir: Path
    # Where vegeta is installed when it is missing.
    tools_dir: Path
    # The project whose history `--record` appends to.
    project_dir: Path


def dashboard_targets(latest: datetime, key: str) -> list[Target]:
    """The four requests the dashboard page makes, as of the newest stored event."""
    end = latest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    hour_ago, half_hour_ago = end - timedelta(hours=1), end - timedelta(minutes=30)
    return [
        _target("/v1/events/counts", key, granularity="minute", start=half_hour_ago, end=end),
        _target("/v1/events/top-types", key, limit=6, start=hour_ago, end=end),
        _target("/v1/events/distinct-users", key, start=hour_ago, end=end),
        _target("/v1/events/freshness", key),
    ]


def uncached_targets(latest: datetime, key: str, count: int) -> list[Target]:
    """Dashboard queries over `count` different windows: each one a distinct cache key.

    Freshness takes no parameters, so it cannot be made to miss; it is left out here.
    """
    end = latest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    queries: list[tuple[str, timedelta, dict[str, Any]]] = [
        ("/v1/events/counts", timedelta(minutes=30), {"granularity": "minute"}),
        ("/v1/events/top-types", timedelta(hours=1), {"limit": 6}),
        ("/v1/events/distinct-users", timedelta(hours=1), {}),
    ]
    targets = []
    for step in range(count):
        shifted = end - timedelta(minutes=step // len(queries))
        path, span, extra = queries[step % len(queries)]
        targets.append(_target(path, key, start=shifted - span, end=shifted, **extra))
    return targets


def _target(path: str, key: str, **params: Any) -> Target:
    query = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()}
    return Target(f"{path}?{urlencode(query)}" if query else path, {"X-API-Key": key})


def cache_results(base_url: str) -> dict[str, float]:
    """Totals of rtap_cache_results_total by result (hit, miss, ...), from /metrics."""
    totals: dict[str, float] = {}
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        if line.startswith("rtap_cache_results_total{"):
            labels, value = line.rsplit(" ", 1)
            result = labels.split('result="', 1)[1].split('"', 1)[0]
            totals[result] = totals.get(result, 0.0) + float(value)
    return totals


def _measure(
    server: BenchServer, vegeta: str, work: Path, name: str, *, targets: list[Target],
    rate: int, duration_s: float,
) -> tuple[LoadReport, dict[str, float], Path]:  # fmt: skip
    targets_file, results = work / f"{name}.targets", work / f"{name}.bin"
    write_vegeta_targets(targets_file, server.base_url, targets)
    before = cache_results(server.base_url)
    report = attack(vegeta, targets_file, rate=rate, duration_s=duration_s, results=results)
    after = cache_results(server.base_url)
    cache = {result: after[result] - before.get(result, 0.0) for result in after}
    return report, cache, results


def run_api_benchmark(
    request: ApiBenchRequest, setup: ApiTargetSetup, places: ApiBenchPlaces, console: Console
) -> int:
    work = places.run_dir
    work.mkdir(parents=True, exist_ok=True)
    vegeta = vegeta_executable(places.tools_dir)
    with bench_server(setup, events=request.events, users=request.users, console=console) as server:
        dashboard = dashboard_targets(server.latest, server.key)
        for target in dashboard:  # warm the cache: these four are then always hits
            httpx.get(server.base_url + target.path, headers=target.headers, timeout=30)
        if request.warmup_s > 0:
            # Connections, allocator arenas and code paths warm up; not measured.
            with console.status(f"warming up at {request.cached_rate:,} requests/s"):
                _measure(
                    server, vegeta, work, "warmup", targets=dashboard,
                    rate=request.cached_rate, duration_s=request.warmup_s,
                )  # fmt: skip
        with console.status(f"cached: {request.cached_rate:,} requests/s"):
            cached = _measure(
                server, vegeta, work, "cached", targets=dashboard, rate=request.cached_rate,
                duration_s=request.duration_s,
            )  # fmt: skip
        DataVersion(server.redis).bump()  # as after a committed batch
        needed = int(request.uncached_rate * request.duration_s) + 1
        uncached_list = uncached_targets(server.latest, server.key, needed)
        with console.status(f"uncached: {request.uncached_rate:,} requests/s"):
            uncached = _measure(
                server, vegeta, work, "uncached", targets=uncached_list,
                rate=request.uncached_rate, duration_s=request.duration_s,
            )  # fmt: skip
        series = {
            "cached": latency_series(vegeta, cached[2]),
            "uncached": latency_series(vegeta, uncached[2]),
        }
    summary = _summary(request, cached[:2], uncached[:2])
    _print(console, summary)
    plot = _plot(series, summary, work / "bench-api.png")
    summary["plot"] = str(plot)
    written = write_json(work / "bench-api.json", summary)
    console.print(f"figures: {written}\nplot: {plot}")
    if request.json_path is not None:
        write_json(request.json_path, summary)
    if request.record:
        history = record(places.project_dir, api_row(places.project_dir, summary))
        console.print(f"recorded in {history}")
    return 0


def _summary(
    request: ApiBenchRequest,
    cached: tuple[LoadReport, dict[str, float]],
    uncached: tuple[LoadReport, dict[str, float]],
) -> dict[str, Any]:
    c, u = cached[0].latency_ms, uncached[0].latency_ms
    return {
        "stored_events": request.events,
        "warmup_seconds": request.warmup_s,
        "load_generator": " ".join([*load_generator_pinning(), "vegeta (GOMAXPROCS=1)"]),
        "cached": {**cached[0].to_dict(), "cache_results": cached[1]},
        "uncached": {**uncached[0].to_dict(), "cache_results": uncached[1]},
        "speedup_p50": u["p50_ms"] / c["p50_ms"],
        "speedup_p95": u["p95_ms"] / c["p95_ms"],
    }


def _print(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=f"rtap bench api: {summary['stored_events']:,} stored events")
    for column in ("", "offered rps", "achieved rps", "ok", "p50 ms", "p95 ms", "p99 ms", "cache"):
        table.add_column(column, justify="right")
    for name in ("cached", "uncached"):
        run = summary[name]
        latency = run["latency_ms"]
        cache = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(run["cache_results"].items()) if v)
        table.add_row(
            name, f"{run['rate']:,}", f"{run['throughput_rps']:,.0f}",
            f"{run['success_ratio']:.1%}", f"{latency['p50_ms']:.2f}",
            f"{latency['p95_ms']:.2f}", f"{latency['p99_ms']:.2f}", cache,
        )  # fmt: skip
    console.print(table)
    speedup = f"{summary['speedup_p50']:.1f}x at p50, {summary['speedup_p95']:.1f}x at p95"
    console.print(f"cache speed-up: {speedup}")


def _plot(
    series: dict[str, tuple[list[float], list[float]]], summary: dict[str, Any], path: Path
) -> Path:
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    for axis, name in zip(axes, ("cached", "uncached"), strict=True):
        seconds, latencies = series[name]
        run = summary[name]
        axis.scatter(seconds, latencies, s=1, alpha=0.3)
        axis.axhline(run["latency_ms"]["p99_ms"], color="red", linestyle="--", label="p99")
        axis.axhline(run["latency_ms"]["p50_ms"], color="green", linestyle="--", label="p50")
        axis.set_yscale("log")
        axis.set_title(f"{name}: {run['throughput_rps']:,.0f} rps (offered {run['rate']:,})")
        axis.set_xlabel("seconds")
        axis.set_ylabel("latency (ms)")
        axis.legend()
    figure.suptitle(f"rtap bench api — {summary['stored_events']:,} stored events")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def api_row(project_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """The history row of a run: offered and achieved rates, latencies, the speed-up."""
    figures: dict[str, Any] = {"stored_events": summary["stored_events"]}
    for name in ("cached", "uncached"):
        run = summary[name]
        figures[f"{name}_offered_rps"] = run["rate"]
        figures[f"{name}_rps"] = round(run["throughput_rps"])
        for percentile in ("p50", "p95", "p99"):
            figures[f"{name}_{percentile}_ms"] = round(run["latency_ms"][f"{percentile}_ms"], 1)
    figures["speedup_p50"] = round(summary["speedup_p50"])
    figures["speedup_p95"] = round(summary["speedup_p95"])
    return history_row("api", project_dir, figures)
