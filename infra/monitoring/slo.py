"""Multi-window, multi-burn-rate SLO alerts (the SRE workbook, chapter 5), one pair per
SLO of the stack's `sla` block: a page when the error budget burns 14.4x over 5 m and
1 h or 6x over 30 m and 6 h, a ticket at 3x over 2 h and 1 d or 1x over 6 h and 3 d."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.monitoring.model import Alert, Case, Recording, RuleGroup, Severity
from workloads import telemetry as t
from workloads.settings import WorkloadSettings

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (short window, long window, burn rate): both windows must burn faster than the rate.
PAGE = (("5m", "1h", 14.4), ("30m", "6h", 6.0))
TICKET = (("2h", "1d", 3.0), ("6h", "3d", 1.0))
# The promtool cases: a page's windows (up to 6 h) are checked two minutes apart at 7 h; a
# ticket's (up to 3 d) ten minutes apart at 3 d, so that each stack's tests take seconds.
_PAGE_CASE = ("2m", "7h")
_TICKET_CASE = ("10m", "3d")
_SAMPLES = 450
_PER_MINUTE = 6000


@dataclass(frozen=True)
class Slo:
    slug: str
    title: str
    target: float
    # The error ratio over a window, as PromQL; `{w}` is the window.
    error_ratio: str
    meaning: str
    # Input series of a promtool case: the error ratio, and the minutes between samples.
    series: Callable[[float, int], dict[str, str]]

    @property
    def budget(self) -> float:
        return 1.0 - self.target

    def record(self, window: str) -> str:
        return f"rtap:slo_error_ratio:rate{window}"


def slo_groups(settings: WorkloadSettings) -> list[RuleGroup]:
    return [_group(slo) for slo in slos(settings)]


def slos(settings: WorkloadSettings) -> list[Slo]:
    sla = settings.sla
    latency_le = t.bucket_label(sla.query_p99_ms / 1000)
    freshness_le = t.bucket_label(sla.freshness_p95_seconds)
    requests = f'{t.HTTP_REQUEST_DURATION}_count{{route=~"{t.DATA_ROUTES}"}}'
    offered = (
        f'clamp_max(sum(rate({t.LOG_END_OFFSET}{{topic="{settings.kafka.events_topic}"}}[{{w}}])),'
        f" {sla.ingest_events_per_second})"
    )
    processed = f'sum(rate({t.PROCESSED_OFFSET}{{topic="{settings.kafka.events_topic}"}}[{{w}}]))'
    return [
        Slo(
            "api-availability",
            "ApiAvailability",
            sla.availability_target,
            # No 5xx at all is a ratio of 0, not a missing series.
            f'(sum(rate({t.HTTP_REQUEST_DURATION}_count{{route=~"{t.DATA_ROUTES}",status=~"5.."}}'
            f"[{{w}}])) or vector(0)) / sum(rate({requests}[{{w}}]))",
            f"API data requests answered with a server error (5xx); the target is "
            f"{sla.availability_target:.3%} answered without one",
            _availability_series,
        ),
        Slo(
            "api-latency",
            "ApiLatency",
            0.99,
            f'1 - sum(rate({t.HTTP_REQUEST_DURATION}_bucket{{route=~"{t.DATA_ROUTES}",'
            f'le="{latency_le}"}}[{{w}}])) / sum(rate({requests}[{{w}}]))',
            f"API data requests slower than {sla.query_p99_ms:g} ms (sla.queryP99Ms); "
            f"the target is 99% within it",
            lambda ratio, minutes: _latency_series(ratio, minutes, latency_le),
        ),
        Slo(
            "freshness",
            "Freshness",
            0.95,
            f'1 - sum(rate({t.FRESHNESS}_bucket{{le="{freshness_le}"}}[{{w}}]))'
            f" / sum(rate({t.FRESHNESS}_count[{{w}}]))",
            f"events queryable later than {sla.freshness_p95_seconds:g} s after they "
            f"happened (sla.freshnessP95Seconds); the target is 95% within it",
            lambda ratio, minutes: _freshness_series(ratio, minutes, freshness_le),
        ),
        Slo(
            "ingest",
            "IngestRate",
            sla.availability_target,
            f"clamp_min({offered} - {processed}, 0) / {offered}",
            f"the share of arriving events, up to {sla.ingest_events_per_second} a second "
            f"(sla.ingestEventsPerSecond), that the streaming job did not keep up with",
            lambda ratio, minutes: _ingest_series(ratio, minutes, settings),
        ),
    ]


def _group(slo: Slo) -> RuleGroup:
    recordings = [
        Recording(slo.record(w), slo.error_ratio.replace("{w}", w), {"slo": slo.slug})
        for w in WINDOWS
    ]
    alerts = [
        _burn_alert(slo, severity="critical", pairs=PAGE, kind="Page", for_s=120, case=_PAGE_CASE),
        _burn_alert(
            slo, severity="warning", pairs=TICKET, kind="Ticket", for_s=900, case=_TICKET_CASE
        ),
    ]
    return RuleGroup(f"rtap-slo-{slo.slug}", alerts, recordings)


def _burn_alert(
    slo: Slo,
    *,
    severity: Severity,
    pairs: tuple[tuple[str, str, float], ...],
    kind: str,
    for_s: int,
    case: tuple[str, str],
) -> Alert:
    def over(window: str, rate: float) -> str:
        return f'{slo.record(window)}{{slo="{slo.slug}"}} > {rate * slo.budget:.6g}'

    expr = " or ".join(
        f"({over(short, rate)} and {over(long, rate)})" for short, long, rate in pairs
    )
    fastest = max(rate for _, _, rate in pairs)
    slowest = min(rate for _, _, rate in pairs)
    step, at = case
    minutes = int(step.removesuffix("m"))
    wording = " or ".join(f"{rate:g}x over {short} and {long}" for short, long, rate in pairs)
    return Alert(
        name=f"{slo.title}BudgetBurn{kind}",
        expr=expr,
        for_s=for_s,
        severity=severity,
        summary=f"{slo.title}: the error budget is burning fast enough to "
        + ("page" if severity == "critical" else "open a ticket"),
        description=f"The error ratio of the {slo.slug} SLO ({slo.meaning}) is "
        f"burning the error budget ({slo.budget:.3%}) {wording}.",
        threshold=f"budget {slo.budget:.3%}, burnt {wording}",
        # Above the fastest pair's rate the alert must fire; at half the slowest pair's
        # rate it must not.
        fires=Case(
            slo.series(min(1.0, fastest * 1.25 * slo.budget), minutes),
            at,
            {"slo": slo.slug},
            step,
        ),
        silent=Case(slo.series(slowest * 0.5 * slo.budget, minutes), at, step=step),
    )


def _counts(per_minute: float, minutes: int) -> str:
    return f"0+{per_minute * minutes:.10g}x{_SAMPLES}"


def _availability_series(ratio: float, minutes: int) -> dict[str, str]:
    route = f'{t.HTTP_REQUEST_DURATION}_count{{route="/v1/events/counts",method="GET"'
    return {
        f'{route},status="200"}}': _counts(_PER_MINUTE * (1 - ratio), minutes),
        f'{route},status="500"}}': _counts(_PER_MINUTE * ratio, minutes),
    }


def _latency_series(ratio: float, minutes: int, le: str) -> dict[str, str]:
    labels = 'route="/v1/events/counts",method="GET",status="200"'
    return {
        f'{t.HTTP_REQUEST_DURATION}_bucket{{{labels},le="{le}"}}': _counts(
            _PER_MINUTE * (1 - ratio), minutes
        ),
        f"{t.HTTP_REQUEST_DURATION}_count{{{labels}}}": _counts(_PER_MINUTE, minutes),
    }


def _freshness_series(ratio: float, minutes: int, le: str) -> dict[str, str]:
    return {
        f'{t.FRESHNESS}_bucket{{le="{le}"}}': _counts(_PER_MINUTE * (1 - ratio), minutes),
        f"{t.FRESHNESS}_count": _counts(_PER_MINUTE, minutes),
    }


def _ingest_series(ratio: float, minutes: int, settings: WorkloadSettings) -> dict[str, str]:
    partition = f'{{topic="{settings.kafka.events_topic}",partition="0"}}'
    offered = settings.sla.ingest_events_per_second * 60
    return {
        f"{t.LOG_END_OFFSET}{partition}": _counts(offered, minutes),
        f"{t.PROCESSED_OFFSET}{partition}": _counts(offered * (1 - ratio), minutes),
    }
