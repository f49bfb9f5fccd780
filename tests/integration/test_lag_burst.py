"""The streaming job's own lag, as the local Prometheus records it: a burst faster than
the job ingests makes it rise, and it falls back to zero once the burst is drained. This
is the signal the lag-driven scaler reads (workloads/streaming/scaling.py)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.pipeline_run import PipelineRun
from workloads import telemetry as t

pytestmark = pytest.mark.integration

BURST = 500_000


def lag_over_time(processes: LocalProcesses, start: float, end: float) -> list[float]:
    url = f"http://127.0.0.1:{processes.settings.local.prometheus_port}/api/v1/query_range"
    params: dict[str, str | float] = {
        "query": f"sum({t.LAG})",
        "start": start,
        "end": end,
        "step": 2,
    }
    (series,) = httpx.get(url, params=params, timeout=10).json()["data"]["result"]
    return [float(value) for _, value in series["values"]]


def test_the_lag_rises_under_a_burst_and_falls_after_it(
    processes: LocalProcesses, control: ControlClient
) -> None:
    # As fast as the producer goes: well above what the local job ingests (~50k/s).
    producer = processes.settings.producer.model_copy(
        update={"rate_per_second": 1_000_000, "malformed_share": 0.0, "seed": 7}
    )
    run = PipelineRun(processes, control, producer)
    run.prepare()
    started = time.time()
    run.produce(None, threading.Event(), limit=BURST)
    run.drain(timeout_s=300)
    time.sleep(8)  # a few scrapes of the drained lag
    lag = lag_over_time(processes, started - 4, time.time())
    peak = max(lag)
    assert peak > BURST / 20, lag
    after_peak = lag[lag.index(peak) :]
    assert after_peak[-1] == 0, lag
