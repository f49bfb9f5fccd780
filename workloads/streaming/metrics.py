"""In-process metrics of the streaming job: counts, freshness, per-stage timings."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads import telemetry

# Log-spaced bins from 1 ms to 1 day: 800 bins, each ~2.3% wide, so a percentile read
# from the histogram is within ~1.2% of the exact value.
_EDGES = np.geomspace(1e-3, 86_400.0, 801)


class LatencyHistogram:
    """Cumulative histogram of durations in seconds; mergeable and subtractable."""

    def __init__(self, counts: npt.NDArray[np.int64] | None = None) -> None:
        self.counts = counts if counts is not None else np.zeros(len(_EDGES) + 1, np.int64)

    def add(self, seconds: npt.NDArray[np.float64]) -> None:
        if seconds.size:
            bins = np.searchsorted(_EDGES, seconds, side="right")
            self.counts += np.bincount(bins, minlength=self.counts.size)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float | None:
        """The q-quantile in seconds, or None when empty."""
        total = self.total
        if total == 0:
            return None
        index = int(np.searchsorted(np.cumsum(self.counts), q * total, side="left"))
        if index == 0:
            return float(_EDGES[0])
        if index >= len(_EDGES):
            return float(_EDGES[-1])
        return float(np.sqrt(_EDGES[index - 1] * _EDGES[index]))

    def minus(self, earlier: LatencyHistogram) -> LatencyHistogram:
        return LatencyHistogram(self.counts - earlier.counts)

    def to_list(self) -> list[int]:
        return [int(c) for c in self.counts]

    @classmethod
    def from_list(cls, counts: list[int]) -> LatencyHistogram:
        return cls(np.asarray(counts, dtype=np.int64))


class Buckets:
    """A Prometheus histogram's state: counts of values at or below each edge, and the
    sum. Filled a batch at a time with numpy, which observing per event could not keep up
    with at tens of thousands of events a second."""

    def __init__(self, edges: tuple[float, ...]) -> None:
        self.edges = edges
        self._edges = np.asarray(edges)
        self.at_or_below = np.zeros(len(edges), np.int64)
        self.count = 0
        self.sum = 0.0

    def add(self, values: npt.NDArray[np.float64]) -> None:
        if values.size:
            # side="left": a value equal to an edge falls in that edge's bucket (le).
            below = np.bincount(
                np.searchsorted(self._edges, values, side="left"), minlength=len(self.edges) + 1
            )
            self.at_or_below += np.cumsum(below[: len(self.edges)])
            self.count += int(values.size)
            self.sum += float(values.sum())


@dataclass(frozen=True)
class BatchRecord:
    query: str
    batch_id: int
    finished_at: float
    rows: int
    dead_letters: int
    stages_s: dict[str, float]
    freshness_p50_s: float | None = None
    freshness_p95_s: float | None = None

    @classmethod
    def of_sessions(cls, batch_id: int, rows: int, stages_s: dict[str, float]) -> BatchRecord:
        """A sessions batch, finished now (sessions have no dead letters)."""
        return cls("sessions", batch_id, time.time(), rows, 0, stages_s)


@dataclass
class PipelineMetrics:
    """Shared by the batch writers (which record) and the control API (which reads)."""

    rows_stored: int = 0
    dead_letters_written: int = 0
    sessions_stored: int = 0
    batches: Counter[str] = field(default_factory=Counter)
    stage_totals_s: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    freshness: LatencyHistogram = field(default_factory=LatencyHistogram)
    timeline: deque[BatchRecord] = field(default_factory=lambda: deque(maxlen=36_000))
    started_at: float = field(default_factory=time.time)
    # What Prometheus reads (workloads/streaming/exporter.py): the edges come from the
    # stack's freshness target, so that the freshness SLO's threshold is a bucket edge.
    freshness_buckets: Buckets = field(
        default_factory=lambda: Buckets(telemetry.freshness_buckets(None))
    )
    batch_seconds: dict[str, Buckets] = field(default_factory=dict)
    dead_letters_by_reason: Counter[str] = field(default_factory=Counter)
    sink_errors: Counter[str] = field(default_factory=Counter)
    last_batch_at: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_freshness_target(cls, target_s: float) -> PipelineMetrics:
        return cls(freshness_buckets=Buckets(telemetry.freshness_buckets(target_s)))

    def record_ingest(
        self,
        record: BatchRecord,
        freshness_s: npt.NDArray[np.float64],
        dead_letter_reasons: Counter[str] | None = None,
    ) -> None:
        with self._lock:
            self.rows_stored += record.rows
            self.dead_letters_written += record.dead_letters
            self.dead_letters_by_reason.update(dead_letter_reasons or {})
            self._record(record)
            self.freshness.add(freshness_s)
            self.freshness_buckets.add(freshness_s)

    def record_sink_error(self, query: str) -> None:
        with self._lock:
            self.sink_errors[query] += 1

    def prometheus_view(self) -> dict[str, Any]:
        """A consistent copy of what the exporter publishes."""
        with self._lock:
            return {
                "rows_stored": self.rows_stored,
                "dead_letters": dict(self.dead_letters_by_reason),
                "freshness": _copy(self.freshness_buckets),
                "batch_seconds": {q: _copy(b) for q, b in self.batch_seconds.items()},
                "sink_errors": dict(self.sink_errors),
                "last_batch_at": dict(self.last_batch_at),
            }

    def batches_since(self, seconds: float) -> list[BatchRecord]:
        """The batches that finished in the last `seconds`."""
        since = time.time() - seconds
        with self._lock:
            return [r for r in self.timeline if r.finished_at >= since]

    def record_sessions(self, record: BatchRecord) -> None:
        with self._lock:
            self.sessions_stored += record.rows
            self._record(record)

    def add_stage_time(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.stage_totals_s[stage] += seconds

    def snapshot(self, timeline_since: float | None = None) -> dict[str, Any]:
        """A JSON-ready copy; the timeline only when asked, from `timeline_since` on."""
        with self._lock:
            snapshot: dict[str, Any] = {
                "rows_stored": self.rows_stored,
                "dead_letters_written": self.dead_letters_written,
                "sessions_stored": self.sessions_stored,
                "batches": dict(self.batches),
                "stage_totals_s": dict(self.stage_totals_s),
                "freshness_histogram": self.freshness.to_list(),
                "freshness_p50_s": self.freshness.quantile(0.50),
                "freshness_p95_s": self.freshness.quantile(0.95),
                "freshness_p99_s": self.freshness.quantile(0.99),
                "last_batch": asdict(self.timeline[-1]) if self.timeline else None,
                "started_at": self.started_at,
            }
            if timeline_since is not None:
                snapshot["timeline"] = [
                    asdict(r) for r in self.timeline if r.finished_at >= timeline_since
                ]
            return snapshot

    def _record(self, record: BatchRecord) -> None:
        self.batches[record.query] += 1
        self.last_batch_at[record.query] = record.finished_at
        duration = self.batch_seconds.setdefault(
            record.query, Buckets(telemetry.BATCH_DURATION_BUCKETS_S)
        )
        duration.add(np.asarray([sum(record.stages_s.values())]))
        for stage, seconds in record.stages_s.items():
            self.stage_totals_s[f"{record.query}.{stage}"] += seconds
        self.timeline.append(record)


def _copy(buckets: Buckets) -> Buckets:
    copy = Buckets(buckets.edges)
    copy.at_or_below = buckets.at_or_below.copy()
    copy.count, copy.sum = buckets.count, buckets.sum
    return copy
