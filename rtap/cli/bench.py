"""`rtap bench`: measure the platform; figures are reported, never asserted."""

from __future__ import annotations

import time
from contextlib import closing
from typing import Annotated

import typer

from core.ports import free_ports
from loadtests.api import ApiBenchPlaces, ApiBenchRequest, run_api_benchmark
from loadtests.api_target import ApiTargetSetup
from loadtests.errors import BenchmarkError
from loadtests.history import HISTORY_FILE, write_json
from loadtests.ingest import IngestRequest
from loadtests.query_run import QueryBenchPlaces, QueryBenchRequest, run_query_benchmark
from loadtests.storage import report_storage, storage_figures, wire_bytes_per_event
from rtap.cli.common import FAILURES, JsonOut, Stack, command_group, console, fail, local_platform
from rtap.local.prerequisites import redis_executable
from rtap.local.runs.bench import run_ingest_benchmark
from rtap.local.runs.soak import SoakRequest, run_soak

Record = Annotated[
    bool,
    typer.Option(
        help=f"Also append the figures to the benchmark history, {HISTORY_FILE}. Without "
        "it, nothing in the source tree changes."
    ),
]

app = command_group(
    "bench",
    help="Measure the platform. Each run prints its figures and writes them (JSON) with a "
    "plot into its folder under the run directory; --record also appends them to "
    f"{HISTORY_FILE}. Benchmarks report, they never pass or fail on a timing.",
)


@app.command("ingest")
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
    record: Record = False,
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
    a plot of both over time. The figures (with the per-batch timeline) and the plot go
    into the run's folder, `runs/RUN_ID` in the run directory.
    """
    try:
        settings, processes = local_platform(stack)
        if fresh:
            processes.purge()
        request = IngestRequest(
            rate=rate,
            duration_s=duration,
            warmup_s=warmup,
            freshness_target_s=settings.sla.freshness_p95_seconds,
            json_path=json_path,
            record=record,
            project_dir=processes.project_dir,
        )
        code = run_ingest_benchmark(processes, request, console)
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)


@app.command("api")
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
    record: Record = False,
) -> None:
    """Requests/s and p50/p95/p99 latency of the dashboard's queries, cached and uncached.

    Runs the API alone (no pipeline) over its own embedded ClickHouse, seeded with
    `--events` synthetic events spread over 24 hours (generated inside ClickHouse, through
    the same materialized views as the pipeline's), and a redis-server of its own. vegeta
    offers a constant rate: first the dashboard's four requests, answered from the cache,
    then the same queries over a different window each time, so that every one runs on
    ClickHouse. Reports the cache speed-up and a latency plot, both also written into the
    run's folder, `runs/TIMESTAMP-api` in the run directory. Installs vegeta with `go
    install` when it is missing.
    """
    try:
        settings, processes = local_platform(stack)
        paths = processes.paths
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
        # The seeded store lives beside the runs, so that the next run reuses it.
        target = ApiTargetSetup(paths.root / "bench-api", redis_executable(), settings)
        places = ApiBenchPlaces(
            run_dir=paths.runs / f"{time.strftime('%Y%m%dT%H%M%S')}-api",
            tools_dir=paths.root.parent / "tools",
            project_dir=processes.project_dir,
        )
        code = run_api_benchmark(request, target, places, console)
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)


@app.command("query")
def bench_query(
    *,
    events: Annotated[
        list[int] | None,
        typer.Option(
            help="Stored events of a store to measure; repeat for several stores. Each "
            "store is seeded once, into a folder of its own, and reused while unchanged.",
            min=1,
        ),
    ] = None,
    users: Annotated[
        int, typer.Option(help="Distinct users in the seeded history.", min=1)
    ] = 200_000,
    repeats: Annotated[
        int, typer.Option(help="Measured requests per query class and store.", min=1)
    ] = 100,
    warmup: Annotated[
        int, typer.Option(help="Unmeasured rounds of every class first, per store.", min=0)
    ] = 5,
    json_path: JsonOut = None,
    stack: Stack = "local",
    record: Record = False,
) -> None:
    """How the uncached latency of each dashboard query class grows with the data.

    For each `--events` size (default 1M, 10M and 100M), runs the API alone over a store
    of that many synthetic events spread over 24 hours, seeded inside ClickHouse through
    the same materialized views as the pipeline's, with sessions derived from them, and
    waits for ClickHouse's merges to settle. Then one client asks each class in turn
    (counts per minute, top types, distinct users, freshness, a user's events, a user's
    sessions), one question at a time, each after a data-version bump so that ClickHouse
    answers it. Reports p50/p95/p99 per class and store against the 50 ms p95 target,
    and a plot of latency against stored events, in the run's folder. Seeding 100M events
    takes minutes and about 5 GB of disk; later runs reuse the store.
    """
    try:
        settings, processes = local_platform(stack)
        paths = processes.paths
        request = QueryBenchRequest(
            sizes=tuple(events or (1_000_000, 10_000_000, 100_000_000)),
            users=users,
            repeats=repeats,
            warmup=warmup,
            json_path=json_path,
            record=record,
        )
        places = QueryBenchPlaces(
            run_dir=paths.runs / f"{time.strftime('%Y%m%dT%H%M%S')}-query",
            stores_dir=paths.root / "bench-query",
            project_dir=processes.project_dir,
        )
        setup = ApiTargetSetup(places.stores_dir, redis_executable(), settings)
        code = run_query_benchmark(request, setup, places, console)
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)


@app.command("soak")
def bench_soak(
    *,
    rate: Annotated[
        float, typer.Option(help="API requests/s offered (open model, mixed REST/GraphQL).", min=1)
    ] = 1_000.0,
    ingest_rate: Annotated[
        int, typer.Option(help="Events/s produced into the pipeline meanwhile.", min=1)
    ] = 5_000,
    duration: Annotated[float, typer.Option(help="Seconds of measured load.", min=10)] = 600.0,
    warmup: Annotated[float, typer.Option(help="Seconds of load first, not judged.", min=0)] = 30.0,
    workers: Annotated[
        int,
        typer.Option(
            help="Locust worker processes (0: one process). One gevent process makes about "
            "a core's worth of requests.",
            min=0,
            max=64,
        ),
    ] = 2,
    json_path: JsonOut = None,
    stack: Stack = "local",
    record: Record = False,
) -> None:
    """A long run of mixed API load while the pipeline ingests: errors, tail, leaks.

    On the running local platform (or one brought up for the run), waits until it is
    quiet, then for `--warmup` plus `--duration` seconds offers
    `--rate` API requests/s with Locust's open model (the load test's mix of dashboard
    panels, drill-downs and GraphQL) while the producer offers `--ingest-rate` events/s.
    Reports the share of failed requests (target under 0.1%), the API's p99, the
    resident memory of every process of the platform at the start and the end (with a
    plot of it over time: a leak is a line that keeps climbing) and the ingest's
    exactly-once verdict. Exits 1 when the ingest was not exactly once.
    """
    try:
        _, processes = local_platform(stack)
        request = SoakRequest(
            rate=rate,
            ingest_rate=ingest_rate,
            duration_s=duration,
            warmup_s=warmup,
            workers=workers,
            master_port=free_ports(1)[0],
            json_path=json_path,
            record=record,
        )
        code = run_soak(processes, request, console)
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)


@app.command("storage")
def bench_storage(
    *,
    json_path: JsonOut = None,
    stack: Stack = "local",
    record: Record = False,
) -> None:
    """Bytes per stored event, per column and in total, of the running local platform.

    Reads ClickHouse's own figures for the events table (system.parts, system.columns):
    each column's bytes after its codec and before it, per event, and what the parts take
    on disk in all (columns, marks, primary and skip indexes). Compares them with
    ClickHouse's uncompressed size and with the JSON each event takes on the wire (the
    producer's messages, sampled), and lists the rollup and sessions tables' cost per
    event. It measures what is stored and stores nothing: run it after `rtap bench
    ingest` or `rtap produce`. A bar plot of the columns goes into the run's folder.
    """
    try:
        settings, processes = local_platform(stack)
        if not processes.registry.is_running("platform"):
            raise BenchmarkError("the local platform is not running: start it with rtap up")
        with closing(processes.control()) as control:
            tables = control.storage_sizes()
        figures = storage_figures(tables, wire_bytes_per_event(settings.workload_part()))
        run_dir = processes.paths.runs / f"{time.strftime('%Y%m%dT%H%M%S')}-storage"
        run_dir.mkdir(parents=True, exist_ok=True)
        document = report_storage(
            figures, run_dir, console, processes.project_dir if record else None
        )
        if json_path is not None:
            write_json(json_path, document)
    except FAILURES as error:
        raise fail(error) from None
