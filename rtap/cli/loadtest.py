"""`rtap loadtest`: Locust against a stack, gated on the stack's `sla` block."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import orjson
import typer

from core.ports import free_ports
from loadtests.loadtest_run import LoadTestRequest, run_loadtest
from loadtests.suites.options import SHAPES
from loadtests.targets import deployed_target, stack_outputs
from rtap.cli.common import FAILURES, JsonOut, Stack, command_group, console, fail, local_platform
from rtap.local.runs.loadtest import local_target

app = command_group()
# Viewers of the closed shapes make about this many requests per second each
# (a dashboard load is four requests, then an average two seconds of thought).
_REQUESTS_PER_VIEWER = 2.5


@app.command()
def loadtest(
    *,
    stack: Stack = "local",
    shape: Annotated[
        str,
        typer.Option(
            help="open: a constant arrival rate (--rate), latency counted from each "
            "request's intended start, so queueing shows. ramp (up to --users over the "
            "first half, then held), spike (a fifth of --users, all of them for the middle "
            "fifth) and soak (--users throughout) are closed: dashboard viewers who wait "
            "for their answers, then think."
        ),
    ] = "open",
    users: Annotated[
        int, typer.Option(help="Dashboard viewers at the peak of a closed shape.", min=1)
    ] = 20,
    duration: Annotated[float, typer.Option(help="Seconds of measured load.", min=5)] = 60.0,
    warmup: Annotated[
        float,
        typer.Option(
            help="Seconds of load first, not judged: connections open, caches fill, the "
            "JIT warms up.",
            min=0,
        ),
    ] = 10.0,
    rate: Annotated[
        float | None,
        typer.Option(
            help="API requests/s the open shape offers (default: 10% above the stack's "
            "sla.minRequestsPerSecond, the rate the verdict holds it to, so that the "
            "lowest window has room).",
            min=0.1,
        ),
    ] = None,
    ingest_rate: Annotated[
        float,
        typer.Option(
            help="Events/s the ingest user produces while the API is loaded; 0 runs the "
            "API alone and leaves the acknowledgement and freshness lines out.",
            min=0,
        ),
    ] = 500.0,
    kafka_config: Annotated[
        Path | None,
        typer.Option(
            help="For a deployed stack: a JSON file of librdkafka settings (a reachable "
            "bootstrap.servers, SASL and TLS) for the ingest users. Without it, a deployed "
            "stack's test needs --ingest-rate 0."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Run Locust distributed: a master and this many worker processes on this "
            "machine, for more load than one process makes (each uses one core at most). "
            "0 runs one process.",
            min=0,
            max=64,
        ),
    ] = 0,
    json_path: JsonOut = None,
) -> None:
    """Load a stack's API (REST and GraphQL) and its ingest with Locust, then check every
    line of the stack's `sla` block and exit 1 if one is breached.

    Against `--stack local` it loads the local platform, the running one or one started
    for the test. Against a deployed stack it reads the API's host and key from
    `pulumi stack output`. Viewers load the dashboard's four panels and drill down to a
    user's events and sessions, over a spread of time ranges and users. An ingest user
    produces events and reports each acknowledgement's latency. A freshness probe
    produces canary events and polls the API until each is queryable.

    The verdict checks these lines, each against the stack's value:
    - queryP99Ms, and endpoints.GROUP.p95Ms and p99Ms for dashboard, drilldown and graphql;
    - availabilityTarget (the share of requests that failed);
    - minRequestsPerSecond (the lowest 10 s window of the steady part);
    - ackP99Ms and freshnessP95Seconds.

    The table shows each line's target, what was measured, and pass or fail. Locust's
    HTML report and CSVs, the verdict (JSON) and a plot go into the run's folder.
    """
    if shape not in SHAPES:
        raise typer.BadParameter(
            f"no shape {shape!r}; choose from {', '.join(SHAPES)}", param_hint="--shape"
        )
    try:
        settings, processes = local_platform(stack)
        offered = rate if rate is not None else settings.sla.load_test_rate
        run_id = time.strftime("%Y%m%dT%H%M%S")
        request = LoadTestRequest(
            shape=shape,
            duration_s=duration,
            warmup_s=warmup,
            viewers=users,
            rate=offered,
            ingest_rate=ingest_rate,
            run_dir=processes.paths.runs / f"{run_id}-loadtest",
            settings=settings.workload_part(),
            json_path=json_path,
            workers=workers,
            master_port=free_ports(1)[0],
        )
        load = offered if shape == "open" else users * _REQUESTS_PER_VIEWER
        if settings.environment == "local":
            with local_target(processes, console, load, run_id) as target:
                code = run_loadtest(request, target, console)
        else:
            extra = orjson.loads(kafka_config.read_bytes()) if kafka_config else None
            if extra is None and ingest_rate > 0:
                raise typer.BadParameter(
                    "a deployed stack's brokers are inside its cluster: pass --kafka-config "
                    "with settings that reach them, or --ingest-rate 0 for the API alone",
                    param_hint="--kafka-config",
                )
            target = deployed_target(stack, stack_outputs(stack, processes.project_dir), extra)
            code = run_loadtest(request, target, console)
    except FAILURES as error:
        raise fail(error) from None
    raise typer.Exit(code)
