"""`rtap loadtest`'s driver: run the Locust suite (loadtests/locustfile.py) headless
against a target, show its progress, and report the SLA verdict the suite wrote.

The target (the local platform, or a deployed stack's endpoints) is handed in by the
CLI; this module only needs its URL, keys and Kafka settings.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from core.handoff import SETTINGS_FILE_VARIABLE, write_settings_file
from loadtests import LOCUSTFILE
from loadtests.errors import BenchmarkError
from loadtests.history import write_json
from loadtests.loadtest_report import plot_run, print_verdict
from workloads.settings import WorkloadSettings

# Locust's exit code when its own start-up failed (a bad option, a locustfile error).
_LOCUST_FAILED = 2
_WORKER_QUIT_S = 15.0


@dataclass(frozen=True)
class LoadTarget:
    """Where the load goes: the API, the keys to spread requests over, and the Kafka
    client settings for the ingest users (None: no ingest users)."""

    description: str
    api_url: str
    api_keys: list[str]
    kafka_config: dict[str, Any] | None


@dataclass(frozen=True)
class LoadTestRequest:
    shape: str
    duration_s: float
    viewers: int
    rate: float
    ingest_rate: float
    run_dir: Path
    settings: WorkloadSettings
    warmup_s: float = 10.0
    canary_interval_s: float = 1.0
    think_time_s: float = 2.0
    json_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # 0: one Locust process. N: Locust's distributed mode, a master and N worker
    # processes on this machine (a gevent process uses one core at most).
    workers: int = 0
    # Where the master listens for its workers (on 127.0.0.1).
    master_port: int = 5557


def _private_file(path: Path, document: Any) -> Path:
    """Keys and Kafka credentials: readable by this user only."""
    path.write_bytes(b"")
    path.chmod(0o600)
    path.write_bytes(orjson.dumps(document))
    return path


def suite_arguments(request: LoadTestRequest, target: LoadTarget) -> list[str]:
    """The suite's own options (loadtests/suites/options.py), the same for every Locust
    process of the run."""
    run = request.run_dir
    ingest = request.ingest_rate if target.kafka_config is not None else 0.0
    options = {
        "shape": request.shape,
        "duration": request.duration_s,
        "warmup": request.warmup_s,
        "viewers": request.viewers,
        # One open-model scheduler per worker, each offering its share of the rate.
        "arrival-users": max(1, request.workers),
        "rate": request.rate,
        "ingest-rate": ingest,
        "canary-interval": request.canary_interval_s,
        "think-time": request.think_time_s,
        "keys-file": run / "api-keys.json",
        "verdict": run / "verdict.json",
    }
    if target.kafka_config is not None:
        options["kafka-config"] = run / "kafka.json"
    return [part for name, value in options.items() for part in (f"--rtap-{name}", str(value))]


def locust_command(request: LoadTestRequest, target: LoadTarget) -> list[str]:
    """The headless Locust process, the master when the run has workers."""
    run = request.run_dir
    command = [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"),
        *("--host", target.api_url),
        *("--csv", str(run / "locust"), "--csv-full-history", "--html", str(run / "locust.html")),
        *("--only-summary", "--loglevel", "INFO", "--logfile", str(run / "locust.log")),
        *suite_arguments(request, target),
    ]
    if request.workers:
        command += [
            *("--master", "--expect-workers", str(request.workers)),
            *("--master-bind-host", "127.0.0.1", "--master-bind-port", str(request.master_port)),
        ]
    return command


def worker_command(request: LoadTestRequest, target: LoadTarget) -> list[str]:
    """A worker of a distributed run; it reports to the master on 127.0.0.1."""
    return [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"),
        *("--master-host", "127.0.0.1", "--master-port", str(request.master_port)),
        *("--host", target.api_url, "--loglevel", "WARNING"),
        *suite_arguments(request, target),
    ]


def run_loadtest(request: LoadTestRequest, target: LoadTarget, console: Console) -> int:
    """Run the suite, print the verdict table and where the reports are; the exit code
    (1 when a line is breached)."""
    run = request.run_dir
    run.mkdir(parents=True, exist_ok=True)
    settings_file = write_settings_file(request.settings, run / "settings.json")
    _private_file(run / "api-keys.json", target.api_keys)
    if target.kafka_config is not None:
        _private_file(run / "kafka.json", target.kafka_config)
    env = {**os.environ, **request.extra_env, SETTINGS_FILE_VARIABLE: str(settings_file)}
    console.print(
        f"load test: {request.shape} shape for {request.duration_s:g} s (after "
        f"{request.warmup_s:g} s of warm-up) against "
        f"{target.description} ({target.api_url}); reports in {run}"
    )
    with (run / "locust.out").open("wb") as out:
        process = subprocess.Popen(
            locust_command(request, target), stdout=out, stderr=subprocess.STDOUT, env=env
        )
        worker = worker_command(request, target)
        workers = [
            subprocess.Popen(worker, stdout=out, stderr=subprocess.STDOUT, env=env)
            for _ in range(request.workers)
        ]
        try:
            _show_progress(process, run / "locust_stats_history.csv", request, console)
        finally:
            _stop(workers)
    try:
        try:
            # Reports and API keys stay in the run directory (the keys only as long as the run).
            verdict = orjson.loads((run / "verdict.json").read_bytes())
        except FileNotFoundError:
            tail = (run / "locust.out").read_text(errors="replace")[-2000:]
            raise BenchmarkError(
                f"the load test ended without a verdict (Locust exit code "
                f"{process.returncode}); see {run / 'locust.log'}:\n{tail}"
            ) from None
    finally:
        (run / "api-keys.json").unlink(missing_ok=True)
        (run / "kafka.json").unlink(missing_ok=True)
    print_verdict(console, verdict)
    plot = plot_run(run / "locust_stats_history.csv", verdict, request.settings.sla, run)
    summary = {
        **verdict,
        "target": target.description,
        "plot": str(plot),
        "html_report": str(run / "locust.html"),
    }
    write_json(run / "loadtest.json", summary)
    if request.json_path is not None:
        write_json(request.json_path, summary)
    console.print(f"report: {run / 'locust.html'}\nplot: {plot}\nverdict: {run / 'loadtest.json'}")
    return 0 if verdict["passed"] else 1


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """Workers quit when their master does; any still running after a while is stopped."""
    for worker in workers:
        try:
            worker.wait(timeout=_WORKER_QUIT_S)
        except subprocess.TimeoutExpired:
            worker.terminate()
            worker.wait(timeout=_WORKER_QUIT_S)


def _latest_aggregate(history: Path) -> dict[str, str] | None:
    try:
        with history.open(newline="") as rows:
            last = None
            for row in csv.DictReader(rows):
                if row.get("Name") == "Aggregated":
                    last = row
            return last
    except FileNotFoundError:
        return None


def _show_progress(
    process: subprocess.Popen[bytes], history: Path, request: LoadTestRequest, console: Console
) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        total = request.warmup_s + request.duration_s
        task = progress.add_task("starting Locust", total=total)
        started = time.monotonic()
        while process.poll() is None:
            time.sleep(1.0)
            row = _latest_aggregate(history)
            if row is not None:
                progress.update(
                    task,
                    completed=min(time.monotonic() - started, total),
                    description=(
                        f"{float(row['Requests/s']):,.0f} req/s · p95 {row['95%']} ms · "
                        f"{int(row['Total Failure Count']):,} failed of "
                        f"{int(row['Total Request Count']):,}"
                    ),
                )
    if process.returncode == _LOCUST_FAILED and not (request.run_dir / "verdict.json").exists():
        raise BenchmarkError(
            f"Locust could not start the suite; see {request.run_dir / 'locust.out'}"
        )
