"""`rtap bench query`'s run: one store per size, the table, the plot and the history row."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtests.api_target import ApiTargetSetup, bench_server
from loadtests.history import record, write_json
from loadtests.plots import pyplot
from loadtests.query import (
    QUERY_CLASSES,
    TARGET_P95_MS,
    UncachedAsker,
    measure_store,
    query_row,
    store_summary,
)


@dataclass(frozen=True)
class QueryBenchRequest:
    # Stored events of each store, measured smallest first.
    sizes: tuple[int, ...]
    users: int
    repeats: int
    warmup: int
    json_path: Path | None
    record: bool


@dataclass(frozen=True)
class QueryBenchPlaces:
    run_dir: Path
    # One seeded store per size lives under it, reused by the next run.
    stores_dir: Path
    project_dir: Path


def run_query_benchmark(
    request: QueryBenchRequest, setup: ApiTargetSetup, places: QueryBenchPlaces, console: Console
) -> int:
    places.run_dir.mkdir(parents=True, exist_ok=True)
    stores = []
    for events in sorted(request.sizes):
        console.print(f"store of {events:,} events")
        store_setup = replace(setup, work_dir=places.stores_dir / str(events))
        server_context = bench_server(
            store_setup, events=events, users=request.users, console=console
        )
        with server_context as server, closing(UncachedAsker.of(server)) as asker:
            with console.status(f"{request.repeats} uncached rounds of each query class"):
                latencies = measure_store(
                    asker, server, users=request.users, repeats=request.repeats,
                    warmup=request.warmup,
                )  # fmt: skip
            store = store_summary(events, latencies, server.parts)
            store["cached_answers_retried"] = asker.cached_retries
        stores.append(store)
    max_threads = setup.settings.serving.clickhouse_max_threads
    summary: dict[str, Any] = {
        "stores": stores,
        "repeats": request.repeats,
        "warmup_rounds": request.warmup,
        "users": request.users,
        "clickhouse_max_threads": max_threads,
        "target_p95_ms": TARGET_P95_MS,
    }
    print_query_table(console, summary)
    plot = plot_query_latency(summary, places.run_dir / "bench-query.png")
    summary["plot"] = str(plot)
    written = write_json(places.run_dir / "bench-query.json", summary)
    console.print(f"figures: {written}\nplot: {plot}")
    if request.json_path is not None:
        write_json(request.json_path, summary)
    if request.record:
        history = record(places.project_dir, query_row(places.project_dir, summary))
        console.print(f"recorded in {history}")
    return 0


def print_query_table(console: Console, summary: dict[str, Any]) -> None:
    table = Table(
        title=f"rtap bench query: uncached latency, p50 / p95 / p99 ms "
        f"({summary['repeats']} requests per class and store)"
    )
    table.add_column("query class")
    for store in summary["stores"]:
        table.add_column(f"{store['stored_events']:,} events", justify="right")
    for name in QUERY_CLASSES:
        cells = []
        for store in summary["stores"]:
            figure = store["classes"][name]
            p95 = figure["p95_ms"]
            style = "red" if p95 > summary["target_p95_ms"] else "green"
            cells.append(
                f"{figure['p50_ms']:.1f} / [{style}]{p95:.1f}[/{style}] / {figure['p99_ms']:.1f}"
            )
        table.add_row(name, *cells)
    console.print(table)
    console.print(
        f"target: p95 ≤ {summary['target_p95_ms']:.0f} ms at the largest store "
        f"(reported, not asserted); ClickHouse threads per query: "
        f"{summary['clickhouse_max_threads'] or 'all cores'}"
    )


def plot_query_latency(summary: dict[str, Any], path: Path) -> Path:
    """p95 (markers, solid) and p50 (dashed) of each class against stored events, log-log."""
    plt = pyplot()
    from matplotlib import ticker  # noqa: PLC0415 (pyplot() loads matplotlib on first use)

    figure, axis = plt.subplots(figsize=(10, 5))
    sizes = [store["stored_events"] for store in summary["stores"]]
    for name in QUERY_CLASSES:
        p95 = [store["classes"][name]["p95_ms"] for store in summary["stores"]]
        p50 = [store["classes"][name]["p50_ms"] for store in summary["stores"]]
        (line,) = axis.plot(sizes, p95, marker="o", label=f"{name} p95")
        axis.plot(sizes, p50, linestyle="--", color=line.get_color(), alpha=0.6)
    axis.axhline(summary["target_p95_ms"], color="red", linestyle=":", label="p95 target")
    axis.set_xscale("log")
    axis.set_yscale("log")
    # Milliseconds as plain numbers (10, 20, 50), not powers of ten (2x10^1).
    axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_xlabel("stored events")
    axis.set_ylabel("uncached latency (ms); dashed: p50")
    axis.set_title("rtap bench query: latency against stored events")
    # Beside the axes: inside, it hides the smallest store's points.
    axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
