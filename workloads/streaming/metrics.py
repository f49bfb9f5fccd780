"""In-process metrics of the streaming job: counts, freshness, per-stage timings."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

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
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record_ingest(self, record: BatchRecord, freshness_s: npt.NDArray[np.float64]) -> None:
        with self._lock:
            self.rows_stored += record.rows
            self.dead_letters_written += record.dead_letters
            self._record(record)
            self.freshness.add(freshness_s)

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
        for stage, seconds in record.stages_s.items():
            self.stage_totals_s[f"{record.query}.{stage}"] += seconds
        self.timeline.append(record)
