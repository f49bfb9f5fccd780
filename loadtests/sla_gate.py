"""The SLA gate of a load test: every line of the stack's `sla` block a load test can
measure, checked against what the run measured, one verdict per line.

The run's measurements arrive as Locust's statistics, one `RequestSeries` per request
name. Names are `group:endpoint`; the group says which line a request counts towards
(the API's groups are `sla.endpoints`' fields, plus `ingest` for acknowledgements and
`freshness` for canary events). Locust keeps latencies rounded (to 1 ms below 100 ms,
10 ms below 1 s, 100 ms below 10 s), so a percentile here is exact to that rounding,
in one process or summed over distributed workers alike.

This module is pure: no Locust import (importing Locust patches the interpreter with
gevent), so it tests on synthetic histograms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workloads.settings import EndpointTargets, SlaSettings

API_GROUPS: tuple[str, ...] = tuple(EndpointTargets.model_fields)
INGEST_GROUP = "ingest"
FRESHNESS_GROUP = "freshness"
# The API is held to its minimum rate over every window this long of the steady part.
SUSTAINED_WINDOW_S = 10


@dataclass(frozen=True)
class RequestSeries:
    """What a run measured for one request name: Locust's statistics of one entry."""

    name: str
    # Rounded latency in ms → requests (failed ones included, as Locust counts them).
    latency_counts: Mapping[int, int]
    # Unix second → requests completed, and → requests that failed, in that second.
    per_second: Mapping[int, int] = field(default_factory=dict)
    failures_per_second: Mapping[int, int] = field(default_factory=dict)
    failures: int = 0

    @property
    def group(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def requests(self) -> int:
        return sum(self.latency_counts.values())


def request_name(group: str, endpoint: str) -> str:
    """The Locust name of a request: the gate reads its group back from it."""
    return f"{group}:{endpoint}"


def percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """The nearest-rank percentile of a latency histogram; None when it is empty."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for latency in sorted(counts):
        seen += counts[latency]
        if seen >= rank:
            return float(latency)
    return float(max(counts))


def sustained_rate(
    series: Iterable[RequestSeries], steady: tuple[float, float] | None
) -> float | None:
    """The lowest mean of successful requests per second over any SUSTAINED_WINDOW_S
    window inside `steady` (unix seconds, start inclusive, end exclusive); over the
    whole steady part when it is shorter. None when nothing was measured in it."""
    successes: Counter[int] = Counter()
    for one in series:
        successes.update(one.per_second)
        successes.subtract(one.failures_per_second)
    if not successes:
        return None
    first, last = min(successes), max(successes) + 1
    if steady is not None:
        first, last = max(first, math.ceil(steady[0])), min(last, math.floor(steady[1]))
    if last <= first:
        return None
    per_second = [successes.get(second, 0) for second in range(first, last)]
    window = min(SUSTAINED_WINDOW_S, len(per_second))
    sums = [sum(per_second[i : i + window]) for i in range(len(per_second) - window + 1)]
    return min(sums) / window


@dataclass(frozen=True)
class SlaLine:
    """One line of the `sla` block as a load test checks it."""

    key: str
    what: str
    target: float
    unit: str
    # The measurement must be at least the target (a rate), not at most (a latency).
    at_least: bool
    measure: Callable[[Sequence[RequestSeries], tuple[float, float] | None], float | None]


@dataclass(frozen=True)
class LineResult:
    key: str
    what: str
    target: float
    unit: str
    at_least: bool
    measured: float | None

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        return self.measured >= self.target if self.at_least else self.measured <= self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.key,
            "what": self.what,
            "target": self.target,
            "unit": self.unit,
            "at_least": self.at_least,
            "measured": self.measured,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Verdict:
    results: list[LineResult]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def breaches(self) -> list[LineResult]:
        return [result for result in self.results if not result.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "lines": [result.to_dict() for result in self.results],
            "breached": [result.key for result in self.breaches],
        }


def evaluate(
    lines: Sequence[SlaLine],
    series: Sequence[RequestSeries],
    steady: tuple[float, float] | None = None,
) -> Verdict:
    """Each line's measurement against its target. A line with nothing to measure fails:
    a load test that never exercised a promise has not shown it is kept."""
    return Verdict(
        [
            LineResult(
                line.key,
                line.what,
                line.target,
                line.unit,
                line.at_least,
                line.measure(series, steady),
            )
            for line in lines
        ]
    )


def _of_groups(series: Sequence[RequestSeries], groups: Iterable[str]) -> list[RequestSeries]:
    wanted = set(groups)
    return [one for one in series if one.group in wanted]


def _latency(groups: Iterable[str], fraction: float, scale: float = 1.0) -> Callable[..., Any]:
    chosen = tuple(groups)

    def measure(series: Sequence[RequestSeries], _: object) -> float | None:
        counts: Counter[int] = Counter()
        for one in _of_groups(series, chosen):
            counts.update(one.latency_counts)
        value = percentile(counts, fraction)
        return None if value is None else value * scale

    return measure


def _error_ratio(series: Sequence[RequestSeries], _: object) -> float | None:
    requests = sum(one.requests for one in series)
    return None if requests == 0 else sum(one.failures for one in series) / requests


def _sustained(series: Sequence[RequestSeries], steady: tuple[float, float] | None) -> float | None:
    return sustained_rate(_of_groups(series, API_GROUPS), steady)


def sla_lines(sla: SlaSettings, *, ingest: bool = True) -> list[SlaLine]:
    """The lines a load test checks, named as the stack file spells their keys; without
    `ingest` (an API-only run) the acknowledgement and freshness lines are left out."""
    lines = [
        SlaLine(
            "sla.queryP99Ms",
            "p99 of all API requests",
            sla.query_p99_ms,
            "ms",
            False,
            _latency(API_GROUPS, 0.99),
        ),
    ]
    for group in API_GROUPS:
        target = getattr(sla.endpoints, group)
        for name, fraction, value in (("p95", 0.95, target.p95_ms), ("p99", 0.99, target.p99_ms)):
            lines.append(
                SlaLine(
                    f"sla.endpoints.{group}.{name}Ms",
                    f"{name} of {group} requests",
                    value,
                    "ms",
                    False,
                    _latency([group], fraction),
                )
            )
    lines += [
        SlaLine(
            "sla.availabilityTarget",
            "share of requests that failed",
            1 - sla.availability_target,
            "ratio",
            False,
            _error_ratio,
        ),
        SlaLine(
            "sla.minRequestsPerSecond",
            "API requests/s answered, lowest 10 s window",
            sla.min_requests_per_second,
            "rps",
            True,
            _sustained,
        ),
    ]
    if ingest:
        lines += [
            SlaLine(
                "sla.ackP99Ms",
                "p99 of producer acknowledgements",
                sla.ack_p99_ms,
                "ms",
                False,
                _latency([INGEST_GROUP], 0.99),
            ),
            SlaLine(
                "sla.freshnessP95Seconds",
                "p95 of canary events' time to queryable",
                sla.freshness_p95_seconds,
                "s",
                False,
                _latency([FRESHNESS_GROUP], 0.95, 0.001),
            ),
        ]
    return lines
