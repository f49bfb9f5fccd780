"""What `rtap bench api` measures: the API alone (loadtests/api_server.py), with a
redis-server of its own.

The API runs over a dedicated chDB directory seeded with synthetic history, so the
figures are the API's and nothing competes for the cores but the load generator.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import redis
from rich.console import Console
from rich.progress import Progress

from loadtests.api_server import ApiServerConfig
from loadtests.errors import BenchmarkError
from workloads.serving.auth import KeyStore, Scope
from workloads.settings import WorkloadSettings

_HTTP_OK = 200


@dataclass(frozen=True)
class ApiTargetSetup:
    """Where the API under test keeps its state, and the settings it serves with."""

    # The seeded store, keys and logs; the store is reused while it holds `events`.
    work_dir: Path
    redis_server: str
    settings: WorkloadSettings


@dataclass(frozen=True)
class BenchServer:
    base_url: str
    key: str
    latest: datetime
    redis: redis.Redis
    # Active parts per table of the store, once its merges settled.
    parts: dict[str, int]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _redis_server(executable: str, directory: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise BenchmarkError("the benchmark's redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


# What the server reports while it prepares its store: (message key, progress label).
_STEPS = (
    ("seeded", "seeding synthetic events"),
    ("sessions", "deriving their sessions (hours done)"),
    ("rollup", "rebuilding the rollup from the raw events (a store from before migration 0004)"),
    ("merging", "waiting for ClickHouse's merges to settle (merges running)"),
)


def _read_reports(stdout: IO[bytes], progress: Progress, log_file: Path) -> dict[str, Any]:
    tasks: dict[str, Any] = {}
    for line in stdout:
        message = orjson.loads(line)
        if "ready" in message:
            return dict(message)
        for key, label in _STEPS:
            if key in message:
                if key not in tasks:
                    tasks[key] = progress.add_task(label, total=message.get("total"))
                progress.update(tasks[key], completed=message[key])
    raise BenchmarkError(f"the benchmark's API server exited during start-up; see {log_file}")


@contextmanager
def bench_server(
    setup: ApiTargetSetup, *, events: int, users: int, console: Console
) -> Iterator[BenchServer]:
    """The API alone on a free port, over `events` stored events (seeded once, reused)."""
    root = setup.work_dir
    root.mkdir(parents=True, exist_ok=True)
    (root / "api-keys.json").unlink(missing_ok=True)  # the benchmark's own key only
    keys = KeyStore(root / "api-keys.json")
    _, key = keys.create("bench", [Scope.EVENTS_READ, Scope.USERS_READ])
    with _redis_server(setup.redis_server, root) as redis_url:
        port = _free_port()
        (root / "api.log").unlink(missing_ok=True)  # one run's log, not every run's
        config = ApiServerConfig(
            data_dir=root / "clickhouse",
            log_file=root / "api.log",
            keys_file=keys.path,
            redis_url=redis_url,
            port=port,
            events=events,
            users=users,
            session_gap_seconds=setup.settings.streaming.session_gap_seconds,
            event_mix=setup.settings.producer.event_mix,
            clickhouse=setup.settings.clickhouse,
            # The limiter still runs on every request (its cost is measured); it never trips.
            serving=setup.settings.serving.model_copy(update={"rate_limit_per_minute": 10**9}),
        )
        config_file = root / "server.json"
        config_file.write_text(config.model_dump_json())
        process = subprocess.Popen(
            [sys.executable, "-m", "loadtests.api_server", str(config_file)],
            stdout=subprocess.PIPE,
        )
        try:
            if process.stdout is None:
                raise BenchmarkError("the benchmark's API server has no output pipe")
            with Progress(console=console, transient=True) as progress:
                ready = _read_reports(process.stdout, progress, config.log_file)
            base_url = f"http://127.0.0.1:{port}"
            _wait_healthy(base_url, process)
            yield BenchServer(
                base_url,
                key,
                datetime.fromisoformat(ready["latest"]),
                redis.Redis.from_url(redis_url),
                ready.get("parts", {}),
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError("the benchmark's API server exited")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == _HTTP_OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchmarkError("the benchmark's API server did not answer /healthz")
