"""Alerts on the pipeline as a whole: the streaming job stalling, the share of input that
goes to the dead-letter topic, and volumes filling up."""

from __future__ import annotations

from infra.monitoring.model import Alert, Case, RuleGroup
from workloads import telemetry as t
from workloads.settings import WorkloadSettings

# A healthy job commits a batch every trigger (well under a second); this many freshness
# budgets without one is a stuck job, not a slow one.
STALL_FRESHNESS_BUDGETS = 10
MIN_STALL_S = 30


def stall_seconds(settings: WorkloadSettings) -> int:
    return max(MIN_STALL_S, round(STALL_FRESHNESS_BUDGETS * settings.sla.freshness_p95_seconds))


def pipeline_group(settings: WorkloadSettings) -> RuleGroup:
    return RuleGroup(
        "rtap-pipeline",
        [_stalled(settings), _dead_letter_share(settings), _disk_filling_up()],
    )


def _stalled(settings: WorkloadSettings) -> Alert:
    topic = f'{{topic="{settings.kafka.events_topic}"}}'
    stall = stall_seconds(settings)
    # Nothing waits: the job has read all there is. The exporter drops the lag (and the
    # log end) when the broker cannot be read, so a broker that is down is not idle. A
    # topic that received events a minute ago and has been read is idle too: traffic that
    # stops is no stall.
    idle = f"(sum({t.LAG}{topic}) == 0)"
    partition = f'{{topic="{settings.kafka.events_topic}",partition="0"}}'
    last_batch = f'{t.LAST_BATCH}{{query="ingest"}}'

    def series(*, last_batch_at: str, log_end: str, lag: str) -> dict[str, str]:
        """The last batch's time, the log end and the lag, in promtool's notation."""
        return {
            last_batch: last_batch_at,
            f"{t.LOG_END_OFFSET}{partition}": log_end,
            f"{t.LAG}{partition}": lag,
        }

    return Alert(
        name="StreamingJobStalled",
        expr=f"time() - max({last_batch}) > {stall} unless on() {idle}",
        for_s=120,
        severity="critical",
        summary="The streaming job commits no batches while events wait",
        description=f"No ingest batch committed for over {stall} s while events wait (or "
        "the broker's log end cannot be read).",
        threshold=f"{stall} s without a committed batch ({STALL_FRESHNESS_BUDGETS} freshness "
        f"budgets, at least {MIN_STALL_S} s) for 2 m, unless nothing is left to read (no lag)",
        fires=Case(series(last_batch_at="0x40", log_end="0+600x40", lag="0+600x40"), "30m"),
        silent=Case(series(last_batch_at="0+60x40", log_end="0+600x40", lag="100x40"), "30m"),
        # Idle: no batch runs when nothing arrives, and nothing is owed.
        also_silent=(
            Case(series(last_batch_at="0x40", log_end="5000x40", lag="0x40"), "30m"),
            # Traffic stopped 3 minutes ago and was all read: the log end moved within the
            # last 5 minutes, but nothing waits.
            Case(
                series(last_batch_at="0+60x28 1680x12", log_end="0+600x28 16800x12", lag="0x40"),
                "31m",
            ),
        ),
    )


def _dead_letter_share(settings: WorkloadSettings) -> Alert:
    share = settings.sla.max_dead_letter_share
    dead = f"sum(rate({t.counter(t.DEAD_LETTERS)}[10m]))"
    stored = f"sum(rate({t.counter(t.EVENTS_STORED)}[10m]))"

    def series(dead_share: float) -> dict[str, str]:
        dead_letters = f'{t.counter(t.DEAD_LETTERS)}{{reason="invalid_json"}}'
        return {
            t.counter(t.EVENTS_STORED): f"0+{6000 * (1 - dead_share):.10g}x40",
            dead_letters: f"0+{6000 * dead_share:.10g}x40",
        }

    return Alert(
        name="DeadLetterShareHigh",
        expr=f"{dead} / ({stored} + {dead}) > {share:g}",
        for_s=600,
        severity="warning",
        summary="A large share of the input goes to the dead-letter topic",
        description=f"Over {share:.1%} of events were dead-lettered in the last 10 minutes; "
        "each one's reason is in its headers on the dead-letter topic.",
        threshold=f"{share:.1%} for 10 m (sla.maxDeadLetterShare): a producer sending "
        "broken events, not the odd bad one",
        fires=Case(series(min(0.99, 2 * share)), "30m"),
        silent=Case(series(share / 2), "30m"),
    )


def _disk_filling_up() -> Alert:
    available = "kubelet_volume_stats_available_bytes"
    capacity = "kubelet_volume_stats_capacity_bytes"
    volume = '{namespace="rtap",persistentvolumeclaim="data-kafka-0"}'
    return Alert(
        name="VolumeFillingUp",
        expr=f"({available} / {capacity} < 0.15)"
        f" and (predict_linear({available}[6h], 24 * 3600) < 0)",
        for_s=3600,
        severity="warning",
        summary="A persistent volume will be full within a day",
        description="{{ $labels.persistentvolumeclaim }} has under 15% free and fills "
        "within 24 h at the rate of the last 6 h.",
        threshold="under 15% free and full within 24 h at the last 6 h's rate, for 1 h: "
        "time to grow the volume or shorten retention before writes fail",
        fires=Case(
            {f"{available}{volume}": "14000-100x60", f"{capacity}{volume}": "100000x60"},
            "8h",
            {"namespace": "rtap", "persistentvolumeclaim": "data-kafka-0"},
            step="10m",
        ),
        silent=Case(
            {f"{available}{volume}": "50000x60", f"{capacity}{volume}": "100000x60"},
            "8h",
            step="10m",
        ),
    )
