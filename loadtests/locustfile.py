"""rtap's Locust suite: `locust -f loadtests/locustfile.py` (which `rtap loadtest` runs).

The users are in loadtests/suites; this file wires them to one load shape, chosen with
`--rtap-shape` (after `--rtap-warmup` seconds of load whose statistics are then
reset), and to the SLA gate: when the run ends, the process that holds the
run's statistics (the only one, or the master of a distributed run) checks every line
of the stack's `sla` block (loadtests/sla_gate.py), logs the verdict, writes it to
`--rtap-verdict`, and exits 1 when a line is breached.

The stack's settings come from the settings file $RTAP_SETTINGS_FILE names
(core/handoff.py), as for every other rtap process.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

from loadtests.sla_gate import RequestSeries, Verdict, evaluate, percentile, sla_lines
from loadtests.suites.api_users import ARRIVALS_DONE, GraphqlViewer, OpenModelArrivals, RestViewer
from loadtests.suites.ingest_users import FreshnessProbe, IngestProducer
from loadtests.suites.options import SuiteOptions, add_arguments, suite_options
from loadtests.suites.plan import steady_window, viewers_at

__all__ = [
    "FreshnessProbe",
    "GraphqlViewer",
    "IngestProducer",
    "OpenModelArrivals",
    "RestViewer",
    "RunShape",
]

log = logging.getLogger("rtap.loadtest")
# The open model waits this long past its duration for answers still in flight.
_OPEN_DRAIN_S = 10.0
_RUN_STARTED: list[float] = []


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    add_arguments(parser)


@events.init.add_listener
def _configured(environment: Environment, **_: Any) -> None:
    if environment.parsed_options is None:
        return
    options = suite_options(environment.parsed_options)
    # Each worker of a distributed run offers its share of the open model's rate.
    OpenModelArrivals.fixed_count = options.arrival_users


def _measuring_from(environment: Environment, options: SuiteOptions, elapsed: float) -> None:
    """At the end of the warm-up, once: forget its statistics; the measured part starts."""
    if not _RUN_STARTED and elapsed >= options.warmup_s and environment.runner is not None:
        environment.runner.stats.reset_all()
        _RUN_STARTED.append(time.time())
        log.info("warm-up over after %.1f s: measuring from now", elapsed)


class RunShape(LoadTestShape):
    """The shape `--rtap-shape` names, for `--rtap-duration` seconds (plan.py)."""

    def tick(self) -> tuple[int, float, list[Any]] | None:
        environment = self.runner.environment  # type: ignore[union-attr]
        options = suite_options(environment.parsed_options)
        _measuring_from(environment, options, self.get_run_time())
        # Time into the measured part (the warm-up runs the shape's first moment).
        elapsed = max(0.0, self.get_run_time() - options.warmup_s)
        fixed: list[Any] = [IngestProducer, FreshnessProbe] if options.ingest else []
        if options.shape == "open":
            over = elapsed >= options.duration_s
            if over and (ARRIVALS_DONE.is_set() or elapsed >= options.duration_s + _OPEN_DRAIN_S):
                return None
            classes = [OpenModelArrivals, *fixed]
            return options.arrival_users + len(fixed), 100.0, classes
        viewers = viewers_at(options.shape, elapsed, options.duration_s, options.viewers)
        if viewers is None:
            return None
        return viewers + len(fixed), 100.0, [RestViewer, GraphqlViewer, *fixed]


def run_series(entries: dict[Any, StatsEntry]) -> list[RequestSeries]:
    return [
        RequestSeries(
            name=entry.name,
            latency_counts=dict(entry.response_times),
            per_second=dict(entry.num_reqs_per_sec),
            failures_per_second=dict(entry.num_fail_per_sec),
            failures=entry.num_failures,
        )
        for entry in entries.values()
    ]


def _report(options: SuiteOptions, series: list[RequestSeries]) -> dict[str, Any]:
    started = _RUN_STARTED[0] if _RUN_STARTED else time.time()
    steady = steady_window(options.shape, started, options.duration_s)
    verdict: Verdict = evaluate(
        sla_lines(options.settings.sla, ingest=options.ingest), series, steady
    )
    requests = {
        one.name: {
            "requests": one.requests,
            "failures": one.failures,
            **{f"p{p}_ms": percentile(one.latency_counts, p / 100) for p in (50, 95, 99)},
        }
        for one in sorted(series, key=lambda s: s.name)
    }
    return {
        **verdict.to_dict(),
        "shape": options.shape,
        "started": started,
        "steady": list(steady),
        "requests": requests,
    }


@events.quitting.add_listener
def _judge(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.runner is None:
        return
    options = suite_options(environment.parsed_options)
    report = _report(options, run_series(environment.runner.stats.entries))
    log.info("rtap SLA verdict: %s", orjson.dumps(report).decode())
    if options.verdict_path is not None:
        options.verdict_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    environment.process_exit_code = 0 if report["passed"] else 1
