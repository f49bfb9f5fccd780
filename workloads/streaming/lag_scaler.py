"""The driver acting on its lag: every `interval_s` it reads the lag and the input rate,
asks `executors_wanted` (scaling.py) and, when that differs from what runs, asks Spark's
scheduler backend for it (docs/operations.md, "Scaling the streaming job on lag").

Spark's dynamic allocation stays off, so only this changes the executor count. Up is a
new total target (`SparkContext.requestTotalExecutors`; on Kubernetes new executor pods,
for which Karpenter makes nodes if none has room). Down is one executor killed
(`killExecutors`, which lowers the target too), chosen as the last registered: its tasks
are re-run elsewhere, which a micro-batch tolerates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from workloads.streaming.metrics import BatchRecord
from workloads.streaming.scaling import Decision, LagReading, ScalingBounds, executors_wanted

log = structlog.get_logger(__name__)
# How far back batches count towards the rate one executor sustains.
RATE_WINDOW_S = 60.0


class Executors(Protocol):
    """The application's executors, as its cluster manager sees them."""

    def ids(self) -> list[str]: ...

    def request_total(self, count: int) -> bool: ...

    def kill(self, executor_ids: list[str]) -> bool: ...


class SparkExecutors:
    """Executors through SparkContext's developer API (Spark 4.2: py4j to the JVM)."""

    def __init__(self, spark: Any) -> None:
        self._jvm = spark.sparkContext._jvm
        self._sc = spark.sparkContext._jsc.sc()

    def ids(self) -> list[str]:
        # Spark numbers executors 1, 2, …: in registration order.
        return sorted((str(i) for i in self._scala_list(self._sc.getExecutorIds())), key=_order)

    def request_total(self, count: int) -> bool:
        no_locality = self._jvm.PythonUtils.toScalaMap(self._jvm.java.util.HashMap())
        return bool(self._sc.requestTotalExecutors(count, 0, no_locality))

    def kill(self, executor_ids: list[str]) -> bool:
        ids = self._jvm.java.util.ArrayList()
        for executor_id in executor_ids:
            ids.add(executor_id)
        return bool(self._sc.killExecutors(self._jvm.PythonUtils.toSeq(ids)))

    def _scala_list(self, seq: Any) -> list[Any]:
        return list(self._jvm.scala.jdk.javaapi.CollectionConverters.asJava(seq))


def _order(executor_id: str) -> tuple[int, str]:
    return len(executor_id), executor_id


def total_lag(processed: Mapping[int, int], log_end: Mapping[int, int]) -> int | None:
    """Records behind the log end over every partition; None until both are known."""
    if not processed or not log_end:
        return None
    return sum(max(0, end - processed.get(p, 0)) for p, end in log_end.items())


@dataclass
class LagScaler:
    executors: Executors
    bounds: ScalingBounds
    processed: Callable[[], Mapping[int, int]]
    log_end: Callable[[], Mapping[int, int]]
    recent_batches: Callable[[float], list[BatchRecord]]
    trigger_interval_s: float
    interval_s: float = 15.0
    clock: Callable[[], float] = time.monotonic
    _last_tick: float | None = None
    _last_end: tuple[float, int] | None = None
    _calm_since: float | None = None
    _last_change: float = field(default=float("-inf"))

    def maybe_tick(self) -> Decision | None:
        """Decide and act if `interval_s` has passed since the last decision."""
        now = self.clock()
        if self._last_tick is not None and now - self._last_tick < self.interval_s:
            return None
        self._last_tick = now
        reading = self._reading(now)
        if reading is None:
            return None
        decision = executors_wanted(reading, self.bounds)
        changing = decision.executors != reading.executors
        if changing and self._act(decision, reading.executors):
            self._last_change = now
        # A change at info; holding, every interval, at debug.
        (log.info if changing else log.debug)(
            "executor scaling",
            executors=reading.executors,
            wanted=decision.executors,
            lag=reading.lag_records,
            input_per_s=round(reading.input_per_s),
            reason=decision.reason,
        )
        return decision

    def _reading(self, now: float) -> LagReading | None:
        log_end = self.log_end()
        lag = total_lag(self.processed(), log_end)
        if lag is None:
            return None
        end = sum(log_end.values())
        previous, self._last_end = self._last_end, (now, end)
        if previous is None or now <= previous[0]:
            return None  # one more reading gives the input rate
        input_per_s = max(0.0, (end - previous[1]) / (now - previous[0]))
        calm = lag <= input_per_s * self.trigger_interval_s
        self._calm_since = (self._calm_since or now) if calm else None
        running = len(self.executors.ids())
        return LagReading(
            lag_records=lag,
            input_per_s=input_per_s,
            per_executor_per_s=self._per_executor_rate(running),
            executors=running,
            calm_for_s=now - self._calm_since if self._calm_since is not None else 0.0,
            since_last_change_s=now - self._last_change,
        )

    def _per_executor_rate(self, running: int) -> float:
        """Rows over busy seconds of the recent ingest batches: at least the input rate
        while the job keeps up, and what it can do while it catches up."""
        batches = [b for b in self.recent_batches(RATE_WINDOW_S) if b.query == "ingest"]
        busy_s = sum(sum(b.stages_s.values()) for b in batches)
        if running == 0 or busy_s <= 0:
            return 0.0
        return sum(b.rows for b in batches) / busy_s / running

    def _act(self, decision: Decision, running: int) -> bool:
        if decision.executors > running:
            return self.executors.request_total(decision.executors)
        surplus = self.executors.ids()[decision.executors :]
        return bool(surplus) and self.executors.kill(surplus)
