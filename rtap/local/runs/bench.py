"""The local platform under the ingest benchmark's load (loadtests/ingest.py): brought up
and supervised for the benchmark, loaded through producing runs, stopped after."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import psutil
from rich.console import Console

from loadtests.ingest import (
    Breakdown,
    IngestRequest,
    MeasuredRun,
    measure_ingest,
    report_ingest,
)
from rtap.local.processes.local_processes import COMPONENTS, LocalProcesses
from rtap.local.runs.pipeline_run import PipelineRun
from rtap.local.runs.run import (
    RunningPlatform,
    RunRequest,
    run_pipeline,
    running_platform,
    stop_on_signals,
)
from workloads.producer.settings import ProducerSettings


class LocalPlatformUnderLoad:
    """loadtests.ingest.PlatformUnderLoad for the running local platform."""

    def __init__(
        self,
        processes: LocalProcesses,
        running: RunningPlatform,
        console: Console,
        stop: threading.Event,
    ) -> None:
        self._processes = processes
        self._running = running
        self._console = console
        self._stop = stop
        self._last: PipelineRun | None = None

    def warm_up(self, rate: int, seconds: float) -> None:
        running = self._running
        warm = PipelineRun(
            self._processes, running.control, self._producer(rate), running.supervisor
        )
        warm.prepare()
        warm.produce(seconds, self._stop)

    def measure(self, rate: int, seconds: float) -> MeasuredRun | None:
        request = RunRequest(seconds, self._producer(rate))
        run = run_pipeline(self._processes, self._running, self._console, request, self._stop)
        if run is None or run.summary is None:
            return None
        self._last = run
        return MeasuredRun(run.run_id, run.directory, run.summary.to_dict(), run.summary.passed)

    def breakdown(self) -> Breakdown:
        if self._last is None:
            raise RuntimeError("measure() first")
        return Breakdown(self._last.timeline(), self._last.stage_seconds())

    def process_groups(self) -> Mapping[str, Iterable[psutil.Process]]:
        return {name: self._processes.registry.members(name) for name in COMPONENTS}

    def _producer(self, rate: int) -> ProducerSettings:
        return self._processes.settings.producer.model_copy(update={"rate_per_second": rate})


def run_ingest_benchmark(
    processes: LocalProcesses, request: IngestRequest, console: Console
) -> int:
    """Bring the local platform up, measure, stop it, then report; the exit code."""
    stop = threading.Event()
    with stop_on_signals(stop), running_platform(processes, console) as running:
        platform = LocalPlatformUnderLoad(processes, running, console, stop)
        measurement = measure_ingest(platform, request, console)
    if measurement is None:
        return 1
    return report_ingest(measurement, request, console)
