"""`rtap bench`: measure the platform; figures are reported, never asserted."""

from __future__ import annotations

from typing import Annotated

import typer

from rtap.cli_common import FAILURES, JsonOut, Stack, console, fail, load_stack
from rtap.local.api_bench import ApiBenchRequest, run_api_benchmark
from rtap.local.bench import run_ingest_benchmark

Record = Annotated[
    bool, typer.Option(help="Append the figures to docs/benchmarks.md (plot in docs/img).")
]

bench_app = typer.Typer(
    help="Measure the platform; figures are printed, written as JSON and appended to "
    "docs/benchmarks.md. Benchmarks report, they never pass or fail on a timing.",
    no_args_is_help=True,
)


@bench_app.command("ingest")
def bench_ingest(
    *,
    rate: Annotated[int, typer.Option(help="Events per second to offer.", min=1)],
    duration: Annotated[float, typer.Option(help="Seconds to produce and measure.", min=5)],
    warmup: Annotated[
        float,
        typer.Option(help="Seconds to produce at the same rate first, not measured (JIT warm-up)."),
    ] = 30.0,
    json_path: JsonOut = None,
    stack: Stack = "local",
    record: Record = True,
    fresh: Annotated[
        bool,
        typer.Option(
            help="Delete the local data first (topics, tables, checkpoints, as `rtap down "
            "--purge`), so that runs start alike. Without it the run adds to what is "
            "stored, and ClickHouse's background merges of earlier data compete for CPU.",
        ),
    ] = False,
) -> None:
    """Sustained end-to-end ingest: throughput and freshness p50/p95/p99.

    Brings the platform up, offers `--rate` events/s for `--warmup` seconds (not measured),
    then for `--duration` seconds, drains and verifies, and reports the throughput reached,
    freshness percentiles, where the time went (CPU per process and per-stage timings) and
    a plot of both over time.
    """
    try:
        _, local = load_stack(stack)
        if fresh:
            local.purge()
        code = run_ingest_benchmark(
            local,
            rate=rate,
            duration=duration,
            warmup=warmup,
            json_path=json_path,
            record=record,
            console=console,
        )
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)


@bench_app.command("api")
def bench_api(
    *,
    events: Annotated[
        int,
        typer.Option(help="Stored events to query (seeded once, reused while unchanged).", min=1),
    ] = 10_000_000,
    users: Annotated[
        int, typer.Option(help="Distinct users in the seeded history.", min=1)
    ] = 200_000,
    cached_rate: Annotated[
        int, typer.Option(help="Requests/s offered for cached dashboard queries.", min=1)
    ] = 2_000,
    uncached_rate: Annotated[
        int, typer.Option(help="Requests/s offered for uncached dashboard queries.", min=1)
    ] = 10,
    duration: Annotated[float, typer.Option(help="Seconds per measurement.", min=5)] = 30.0,
    warmup: Annotated[
        float, typer.Option(help="Seconds of cached load first, not measured.", min=0)
    ] = 10.0,
    json_path: JsonOut = None,
    stack: Stack = "local",
    record: Record = True,
) -> None:
    """Requests/s and p50/p95/p99 latency of the dashboard's queries, cached and uncached.

    Runs the API alone (no pipeline) over its own embedded ClickHouse, seeded with
    `--events` synthetic events spread over 24 hours (generated inside ClickHouse, through
    the same materialized views as the pipeline's), and a redis-server of its own. vegeta
    offers a constant rate: first the dashboard's four requests, answered from the cache,
    then the same queries over a different window each time, so that every one runs on
    ClickHouse. Reports the cache speed-up and a latency plot. Installs vegeta with
    `go install` when it is missing.
    """
    try:
        _, local = load_stack(stack)
        request = ApiBenchRequest(
            events=events,
            users=users,
            cached_rate=cached_rate,
            uncached_rate=uncached_rate,
            duration_s=duration,
            warmup_s=warmup,
            json_path=json_path,
            record=record,
        )
        code = run_api_benchmark(local, request, console)
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)
