"""Starting and stopping rtap's processes by pid file, never a recycled pid."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import orjson
import psutil
import pytest

from rtap.local.processes import registry as registry_module
from rtap.local.processes.registry import ProcessRegistry


def _sleeper(registry: ProcessRegistry, tmp_path: Path, name: str = "sleeper") -> int:
    process = registry.start(
        name, [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / f"{name}.log"
    )
    return process.pid


def test_start_records_and_stop_stops(tmp_path: Path) -> None:
    registry = ProcessRegistry(tmp_path / "pids")
    pid = _sleeper(registry, tmp_path)
    assert registry.is_running("sleeper")
    assert [r.pid for r in registry.records()] == [pid]
    assert registry.stop("sleeper", timeout_s=5)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert registry.records() == []
    assert not registry.stop("sleeper")


def test_stop_takes_the_children_along(tmp_path: Path) -> None:
    registry = ProcessRegistry(tmp_path / "pids")
    script = (
        "import subprocess, sys, time;"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "time.sleep(60)"
    )
    registry.start("parent", [sys.executable, "-c", script], tmp_path / "parent.log")
    members = []
    deadline = time.monotonic() + 15  # two Python start-ups on a loaded machine
    while time.monotonic() < deadline:
        members = registry.members("parent")
        if len(members) == 2:
            break
        time.sleep(0.1)  # (psutil.wait_procs([]) returns at once: it never waited)
    assert len(members) == 2
    registry.stop("parent", timeout_s=5)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in members)


def test_a_stop_keeps_the_record_of_a_process_started_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A drill's kill -9 and the supervisor's restart of the same component overlap: the
    # restart registers the new process while the kill still waits for the old one.
    registry = ProcessRegistry(tmp_path / "pids")
    old = _sleeper(registry, tmp_path)
    new: list[int] = []
    signal_all = registry_module._signal_all

    def signal_then_restart(members: list[psutil.Process], sig: signal.Signals) -> None:
        signal_all(members, sig)
        if not new:
            new.append(_sleeper(registry, tmp_path))

    monkeypatch.setattr(registry_module, "_signal_all", signal_then_restart)
    assert registry.stop("sleeper", force=True)
    assert [r.pid for r in registry.records()] == new  # the new record stays
    assert [p.pid for p in registry.members("sleeper")] == new
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE
    registry.stop("sleeper", force=True)
    assert registry.records() == []


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    registry = ProcessRegistry(tmp_path / "pids")
    pid = _sleeper(registry, tmp_path)
    record_path = tmp_path / "pids" / "sleeper.json"
    record = orjson.loads(record_path.read_bytes())
    record["create_time"] -= 1000  # as if the pid now belonged to another process
    record_path.write_bytes(orjson.dumps(record))
    assert registry.members("sleeper") == []
    assert psutil.pid_exists(pid)
    psutil.Process(pid).kill()
