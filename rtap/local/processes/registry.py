"""Starting and stopping the processes rtap owns, tracked by pid files.

A pid file records the pid and the process's start time, so `rtap down` never signals
a process that merely reuses a recorded pid. Each process leads its own session, and
stopping it stops its whole process group (the platform's Spark JVM included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import psutil
import structlog

log = structlog.get_logger(__name__)
# psutil's create_time is a float derived from clock ticks; equal times can differ slightly.
_CLOCK_SLACK_S = 0.05


@dataclass(frozen=True)
class PidRecord:
    name: str
    pid: int
    create_time: float


class ProcessRegistry:
    """Pid files under one folder, one per named process."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        # A stop must not delete the record of a process that another thread (the
        # supervisor restarting it) registered meanwhile.
        self._records_lock = threading.Lock()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._folder.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as output:
            process = subprocess.Popen(
                list(argv),
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        record = PidRecord(name, process.pid, psutil.Process(process.pid).create_time())
        with self._records_lock:
            self._path(name).write_bytes(orjson.dumps(record.__dict__))
        log.info("process started", name=name, pid=process.pid, log=str(log_path))
        return process

    def records(self) -> list[PidRecord]:
        if not self._folder.is_dir():
            return []
        return [
            PidRecord(**orjson.loads(p.read_bytes())) for p in sorted(self._folder.glob("*.json"))
        ]

    def members(self, name: str) -> list[psutil.Process]:
        """Live processes of the named group that rtap started (leader and children)."""
        record = self._record(name)
        return [] if record is None else _group_members(record)

    def _record(self, name: str) -> PidRecord | None:
        try:
            return PidRecord(**orjson.loads(self._path(name).read_bytes()))
        except FileNotFoundError:
            return None

    def is_running(self, name: str) -> bool:
        return bool(self.members(name))

    def stop(self, name: str, timeout_s: float = 20.0, force: bool = False) -> bool:
        """Stop a named process group; returns whether anything was running.

        The leader gets SIGTERM first and time to shut down in order (the platform stops
        its queries, then its JVM); whatever of the group is left then gets SIGTERM and,
        after a grace period, SIGKILL. `force` kills the whole group at once.
        """
        stopped_record = self._record(name)
        members = [] if stopped_record is None else _group_members(stopped_record)
        if members:
            if force:
                _signal_all(members, signal.SIGKILL)
            else:
                leaders = [p for p in members if _is_leader(p)]
                _signal_all(leaders or members, signal.SIGTERM)
                psutil.wait_procs(leaders or members, timeout=timeout_s)
                leftovers = [p for p in members if p.is_running()]
                _signal_all(leftovers, signal.SIGTERM)
                _, alive = psutil.wait_procs(leftovers, timeout=5.0)
                if alive:
                    log.warning(
                        "killing processes that ignored SIGTERM",
                        name=name,
                        pids=[p.pid for p in alive],
                    )
                    _signal_all(alive, signal.SIGKILL)
            psutil.wait_procs([p for p in members if p.is_running()], timeout=5.0)
        with self._records_lock:
            if self._record(name) == stopped_record:
                self._path(name).unlink(missing_ok=True)
        return bool(members)

    def _path(self, name: str) -> Path:
        return self._folder / f"{name}.json"


def _group_members(record: PidRecord) -> list[psutil.Process]:
    members: list[psutil.Process] = []
    for process in psutil.process_iter(["pid", "create_time"]):
        try:
            if os.getpgid(process.pid) != record.pid:
                continue
            # Same group id but older than our leader: a recycled pid, not ours.
            if process.info["create_time"] + _CLOCK_SLACK_S < record.create_time:
                continue
            if (
                process.pid == record.pid
                and abs(process.info["create_time"] - record.create_time) > _CLOCK_SLACK_S
            ):
                continue
            members.append(process)
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            continue
    return members


def _is_leader(process: psutil.Process) -> bool:
    try:
        return os.getpgid(process.pid) == process.pid
    except ProcessLookupError:
        return False


def _signal_all(processes: list[psutil.Process], sig: signal.Signals) -> None:
    for process in processes:
        try:
            process.send_signal(sig)
        except psutil.NoSuchProcess:
            continue


def wait_until(
    check: Callable[[], bool],
    timeout_s: float,
    what: str,
    interval_s: float = 0.25,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `check` until true; raise TimeoutError naming `what`, or early if not `alive`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: the process exited")
        time.sleep(interval_s)
    raise TimeoutError(f"{what}: not ready after {timeout_s:.0f}s")
