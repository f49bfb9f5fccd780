"""A producing run against the local platform: produce, drain, verify.

The run is scoped by Kafka offsets: it starts at the events topic's end offsets, so data
from earlier runs in the same run directory is neither counted nor blamed.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
import structlog

from rtap.local.platform.control_client import ControlClient, ControlUnavailableError
from rtap.local.processes.local_processes import PLATFORM, LocalProcesses
from rtap.local.processes.supervisor import CRASH_LOOP, Supervisor
from workloads.kafka import end_offsets
from workloads.producer.ground_truth import GroundTruth, GroundTruthSummary
from workloads.producer.producer import EventProducer, ProducerStats
from workloads.producer.settings import ProducerSettings
from workloads.streaming.dead_letters import count_dead_letters
from workloads.streaming.metrics import LatencyHistogram

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass
class RunSummary:
    run_id: str
    seed: int
    produced: int
    valid: int
    malformed: int
    dead_lettered: int
    stored_raw: int
    duplicates: int
    missing: int
    unexpected: int
    rollup_mismatches: int
    rollup_cells: int
    throughput_eps: float
    freshness_p50_s: float | None
    freshness_p95_s: float | None
    freshness_p99_s: float | None
    producer_rate_eps: float
    delivery_failures: int
    duration_s: float
    drain_s: float
    session_duplicates: int = 0
    # Components restarted during the run (a crash the supervisor recovered from).
    restarts: dict[str, int] = field(default_factory=dict)
    dead_letters_by_reason: dict[str, int] = field(default_factory=dict)
    malformed_by_reason: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": "pass" if self.passed else "fail"}


class PipelineRun:
    def __init__(
        self,
        processes: LocalProcesses,
        control: ControlClient,
        producer: ProducerSettings,
        supervisor: Supervisor | None = None,
    ):
        self._processes = processes
        self._control = control
        self._supervisor = supervisor
        self._restarts_at_start: dict[str, int] = {}
        self._producer_settings = producer
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.directory = processes.paths.runs / self.run_id
        self.producer: EventProducer | None = None
        self._start_offsets: dict[int, int] = {}
        self._baseline: list[list[Any]] = []
        self._baseline_from = 0
        self._stats_at_start: dict[str, Any] = {}
        self._started_at = 0.0
        self._drain_s = 0.0
        self._stats_at_end: dict[str, Any] = {}
        self.summary: RunSummary | None = None

    def prepare(self, timeout_s: float = 300.0) -> None:
        """Wait for earlier backlog, then record where this run starts."""
        self.drain(timeout_s)
        topic = self._processes.settings.kafka.events_topic
        self._start_offsets = end_offsets(self._processes.bootstrap, topic)
        lateness_minutes = math.ceil(self._producer_settings.max_lateness_seconds / 60)
        self._baseline_from = int(time.time() // 60) - lateness_minutes - 1
        self._baseline = self._ask(lambda: self._control.rollups(self._baseline_from))
        self._stats_at_start = self._ask(self._control.stats)
        self._restarts_at_start = self._supervisor.restarts() if self._supervisor else {}
        self.producer = EventProducer(
            settings=self._producer_settings,
            limits=self._processes.settings.events,
            bootstrap=self._processes.bootstrap,
            topic=topic,
            truth=GroundTruth(self.directory / "ground-truth"),
        )

    def produce(
        self, duration_s: float | None, stop: threading.Event, limit: int | None = None
    ) -> ProducerStats:
        if self.producer is None:
            raise RuntimeError("prepare() first")
        self._started_at = time.time()
        return self.producer.run(duration_s, stop, limit)

    def drain(self, timeout_s: float) -> float:
        """Wait until the ingest query has committed everything in the topic."""
        started = time.monotonic()
        target = end_offsets(self._processes.bootstrap, self._processes.settings.kafka.events_topic)
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            committed = self._committed_offsets()
            if all(int(committed.get(str(p), 0)) >= end for p, end in target.items() if end > 0):
                self._drain_s = time.monotonic() - started
                return self._drain_s
            time.sleep(0.25)
        raise TimeoutError(f"the pipeline did not catch up with {target} within {timeout_s:.0f}s")

    def verify(self) -> RunSummary:
        if self.producer is None:
            raise RuntimeError("prepare() and produce() first")
        stats = self.producer.stats
        truth = GroundTruthSummary.load(self.directory / "ground-truth")
        storage = self._ask(
            lambda: self._control.storage_verdict(
                truth.directory, self._start_offsets, self._baseline, self._baseline_from
            )
        )
        settings = self._processes.settings
        letters = count_dead_letters(
            self._processes.bootstrap, settings.kafka.dead_letter_topic, self._start_offsets
        )
        end_stats = self._stats_at_end = self._ask(self._control.stats)
        freshness = self._run_freshness(end_stats)
        ingest_commits = [
            batch["finished_at"]
            for batch in self.timeline()
            if batch["query"] == "ingest" and batch["rows"]
        ]
        last_commit = max(ingest_commits, default=time.time())
        summary = RunSummary(
            run_id=self.run_id,
            seed=self.producer.seed,
            produced=truth.valid + sum(truth.malformed.values()),
            valid=truth.valid,
            malformed=sum(truth.malformed.values()),
            dead_lettered=letters.distinct_sources,
            stored_raw=storage["distinct_stored"],
            duplicates=storage["duplicates"],
            missing=storage["missing"],
            unexpected=storage["unexpected"],
            rollup_mismatches=storage["rollup_mismatches"],
            rollup_cells=storage["rollup_cells"],
            throughput_eps=storage["distinct_stored"] / max(last_commit - self._started_at, 1e-9),
            freshness_p50_s=freshness.quantile(0.50),
            freshness_p95_s=freshness.quantile(0.95),
            freshness_p99_s=freshness.quantile(0.99),
            producer_rate_eps=stats.achieved_rate,
            delivery_failures=sum(truth.delivery_failures.values()),
            duration_s=stats.finished_at - stats.started_at,
            drain_s=self._drain_s,
            session_duplicates=storage["session_duplicates"],
            restarts=self._restarts_during_run(),
            dead_letters_by_reason=dict(letters.by_reason),
            malformed_by_reason=dict(truth.malformed),
        )
        summary.problems = _problems(summary, storage, letters.total, stats)
        write_summary(summary, self.directory / "summary.json")
        self.summary = summary
        return summary

    def _committed_offsets(self) -> dict[str, int]:
        stats = self._ask(self._control.stats)
        return dict(stats["queries"].get("ingest", {}).get("end_offsets", {}))

    def _ask(self, call: Callable[[], T]) -> T:
        """`call` the platform; while a supervised platform restarts, wait and call again.

        Every call retried here only reads, so a call the crash cut short is safe to
        repeat. An error the platform answers with is raised at once.
        """
        deadline = time.monotonic() + self._processes.settings.local.startup_timeout_seconds
        while True:
            try:
                return call()
            except ControlUnavailableError:
                platform = self._supervisor.snapshot().get(PLATFORM) if self._supervisor else None
                if platform is None or platform.state == CRASH_LOOP:
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)

    def _restarts_during_run(self) -> dict[str, int]:
        now = self._supervisor.restarts() if self._supervisor else {}
        during = {name: n - self._restarts_at_start.get(name, 0) for name, n in now.items()}
        return {name: n for name, n in during.items() if n}

    def stage_seconds(self) -> dict[str, float]:
        """Time per pipeline stage during the run, summed over micro-batches."""
        before = self._stats_at_start.get("stage_totals_s", {})
        after = self._stats_at_end.get("stage_totals_s", {})
        return {stage: after[stage] - before.get(stage, 0.0) for stage in after}

    def timeline(self) -> list[dict[str, Any]]:
        stats = self._ask(lambda: self._control.stats(timeline_since=self._started_at))
        return list(stats.get("timeline", []))

    def _run_freshness(self, end_stats: dict[str, Any]) -> LatencyHistogram:
        end = LatencyHistogram.from_list(end_stats["freshness_histogram"])
        same_process = end_stats.get("started_at") == self._stats_at_start.get("started_at")
        if not same_process:
            return end  # the platform restarted during the run: its counts start afresh
        return end.minus(LatencyHistogram.from_list(self._stats_at_start["freshness_histogram"]))


def _problems(
    summary: RunSummary, storage: dict[str, Any], dlq_records: int, stats: ProducerStats
) -> list[str]:
    problems = []
    if summary.missing:
        problems.append(f"{summary.missing} acknowledged events are not stored")
    if summary.duplicates:
        problems.append(f"{summary.duplicates} events are stored more than once")
    if summary.unexpected:
        problems.append(f"{summary.unexpected} stored rows were never acknowledged")
    if summary.session_duplicates:
        problems.append(f"{summary.session_duplicates} sessions are stored more than once")
    if summary.rollup_mismatches:
        examples = storage["mismatch_examples"][:3]
        problems.append(f"{summary.rollup_mismatches} rollup cells disagree, e.g. {examples}")
    if summary.dead_lettered != summary.malformed:
        problems.append(f"dead letters {summary.dead_lettered} != malformed {summary.malformed}")
    if summary.dead_letters_by_reason != summary.malformed_by_reason:
        problems.append(
            f"dead letters by reason {summary.dead_letters_by_reason} != "
            f"malformed by reason {summary.malformed_by_reason}"
        )
    if dlq_records != summary.dead_lettered:
        problems.append(f"the DLQ holds {dlq_records - summary.dead_lettered} duplicate letters")
    if summary.delivery_failures or stats.undelivered_at_close:
        problems.append(
            f"{summary.delivery_failures} deliveries failed and {stats.undelivered_at_close} "
            "were unresolved: the ground truth is incomplete"
        )
    return problems


def _json(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def write_summary(summary: RunSummary, path: Path, extra: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_json({**summary.to_dict(), **(extra or {})}))
