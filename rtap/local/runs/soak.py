"""`rtap bench soak` on the local platform: the ingest run of `rtap bench ingest` (its
producer, drain and exactly-once verification) with the load test of `rtap loadtest`
beside it, and the memory of every process followed throughout."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.console import Console

from loadtests.errors import BenchmarkError
from loadtests.history import record, write_json
from loadtests.loadtest_run import LoadTarget, LoadTestRequest, run_loadtest
from loadtests.soak import MemoryTrack, plot_soak_memory, print_soak, soak_row, soak_summary
from rtap.local.processes.local_processes import COMPONENTS, LocalProcesses
from rtap.local.runs.loadtest import local_target
from rtap.local.runs.run import RunRequest, platform_for_run, run_pipeline, stop_on_signals


@dataclass(frozen=True)
class SoakRequest:
    rate: float
    ingest_rate: int
    duration_s: float
    warmup_s: float
    workers: int
    master_port: int
    json_path: Path | None
    record: bool


class LoadAlongside:
    """The load test in a thread of its own, beside the producer. Its console output
    goes to a file: the ingest run's live view has the terminal."""

    def __init__(self, request: LoadTestRequest, target: LoadTarget) -> None:
        self._request = request
        self._target = target
        self._thread = threading.Thread(target=self._run, name="soak-load", daemon=True)
        self.error: Exception | None = None

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        self._request.run_dir.mkdir(parents=True, exist_ok=True)
        with (self._request.run_dir / "loadtest.out").open("w") as out:
            try:
                run_loadtest(self._request, self._target, Console(file=out, width=120))
            except Exception as error:  # noqa: BLE001 - reported after the ingest run ends
                self.error = error


def run_soak(processes: LocalProcesses, request: SoakRequest, console: Console) -> int:
    """The exit code: 1 when the ingest was not exactly once, or the run did not finish."""
    run_id = time.strftime("%Y%m%dT%H%M%S")
    load_dir = processes.paths.runs / f"{run_id}-soak-load"
    stop = threading.Event()
    with (
        stop_on_signals(stop),
        platform_for_run(processes, console) as running,
        local_target(processes, console, request.rate, run_id) as target,
    ):
        load = LoadAlongside(_load_request(processes, request, load_dir), target)
        memory = MemoryTrack(lambda: {n: processes.registry.members(n) for n in COMPONENTS})
        memory.start()
        producer = processes.settings.producer.model_copy(
            update={"rate_per_second": request.ingest_rate}
        )
        console.print(
            f"soak: {request.rate:,.0f} API requests/s and {request.ingest_rate:,} "
            f"events/s for {request.duration_s:g} s after {request.warmup_s:g} s of "
            f"warm-up; the load test's output: {load_dir / 'loadtest.out'}"
        )
        length = request.warmup_s + request.duration_s
        run_request = RunRequest(length, producer, alongside=load)
        run = run_pipeline(processes, running, console, run_request, stop)
        load.wait()
        memory.stop()
    if run is None or run.summary is None:
        console.print("[red]the soak was stopped before it finished[/]")
        return 1
    if load.error is not None:
        raise BenchmarkError(f"the soak's load test failed: {load.error}")
    verdict = orjson.loads((load_dir / "loadtest.json").read_bytes())
    offered = {"api_rps": request.rate, "ingest_eps": request.ingest_rate}
    summary = soak_summary(verdict, run.summary.to_dict(), memory.samples, offered)
    summary["duration_seconds"] = request.duration_s
    summary["warmup_seconds"] = request.warmup_s
    summary["load_test_report"] = str(load_dir / "locust.html")
    summary["ingest_run"] = str(run.directory)
    print_soak(console, summary)
    summary["memory_plot"] = str(plot_soak_memory(memory.samples, run.directory / "soak.png"))
    summary["memory_samples"] = memory.samples
    written = write_json(run.directory / "bench-soak.json", summary)
    console.print(f"figures: {written}\nmemory plot: {summary['memory_plot']}")
    if request.json_path is not None:
        write_json(request.json_path, summary)
    if request.record:
        history = record(processes.project_dir, soak_row(processes.project_dir, summary))
        console.print(f"recorded in {history}")
    return 0 if summary["exactly_once"] else 1


def _load_request(
    processes: LocalProcesses, request: SoakRequest, run_dir: Path
) -> LoadTestRequest:
    # The open model at a constant rate; the ingest is the pipeline run's own producer,
    # whose events are verified, so the suite's ingest users stay off.
    return LoadTestRequest(
        shape="open",
        duration_s=request.duration_s,
        warmup_s=request.warmup_s,
        viewers=1,
        rate=request.rate,
        ingest_rate=0.0,
        run_dir=run_dir,
        settings=processes.settings.workload_part(),
        workers=request.workers,
        master_port=request.master_port,
    )
