"""The streaming driver's wiring (workloads/streaming/__main__.py) of the lag scaler."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from workloads.settings import WorkloadSettings
from workloads.streaming.__main__ import lag_scaler


def _spark() -> Any:
    # What SparkExecutors reads at construction; no call reaches it here.
    return SimpleNamespace(
        sparkContext=SimpleNamespace(_jvm=object(), _jsc=SimpleNamespace(sc=object))
    )


def _scaler(environ: dict[str, str]) -> Any:
    job: Any = SimpleNamespace(end_offsets=lambda _name: {})
    log_end: Any = SimpleNamespace(latest=dict)
    metrics: Any = SimpleNamespace(batches_since=lambda _s: [])
    return lag_scaler(
        environ, WorkloadSettings(), spark=_spark(), job=job, log_end=log_end, metrics=metrics
    )


def test_no_scaler_without_room_between_the_bounds() -> None:
    assert _scaler({}) is None
    assert _scaler({"RTAP_EXECUTORS_MIN": "3", "RTAP_EXECUTORS_MAX": "3"}) is None


def test_the_bounds_come_from_the_environment_and_the_settings() -> None:
    scaler = _scaler({"RTAP_EXECUTORS_MIN": "2", "RTAP_EXECUTORS_MAX": "6", "EXECUTOR_CORES": "3"})
    settings = WorkloadSettings()
    assert scaler.bounds.min_executors == 2 and scaler.bounds.max_executors == 6
    assert scaler.bounds.cores_per_executor == 3
    assert scaler.bounds.partitions == settings.kafka.partitions
    assert scaler.bounds.freshness_budget_s == settings.sla.freshness_p95_seconds
    assert scaler.trigger_interval_s == settings.streaming.trigger_interval_ms / 1000
