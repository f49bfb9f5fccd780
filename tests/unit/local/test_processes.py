from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psutil
import pytest

from rtap.local.prerequisites import port_in_use
from rtap.local.priority import lower_threads_priority
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


def test_port_in_use() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_in_use(port)
    assert not port_in_use(port)


_REPORT_PRIORITY = """
import os
from rtap.local.priority import lower_own_priority
lower_own_priority(7)
with open("/proc/self/autogroup") as autogroup:
    print(os.getpriority(os.PRIO_PROCESS, 0), autogroup.read().split()[-1])
"""


def _last_line_in_a_new_session(script: str) -> list[str]:
    """Run `script` as the leader of a session (and so of an autogroup) of its own."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,
    )
    return result.stdout.splitlines()[-1].split()


def test_lowering_priority_covers_the_autogroup_of_a_session_leader() -> None:
    assert _last_line_in_a_new_session(_REPORT_PRIORITY) == ["7", "7"]


_REPORT_PRIORITY_OF_A_CHILD = f"""
import subprocess, sys
child = subprocess.run([sys.executable, "-c", {_REPORT_PRIORITY!r}], capture_output=True, text=True)
with open("/proc/self/autogroup") as autogroup:
    print(child.stdout.splitlines()[-1], autogroup.read().split()[-1])
"""


def test_lowering_priority_leaves_a_shared_autogroup_alone() -> None:
    # The session (and so the autogroup) is made here: the test runner's own may be the
    # kernel's default autogroup, whose /proc file reads empty (as on the CI machine).
    # the child's own nice value, the autogroup as the child saw it, as its leader sees it
    assert _last_line_in_a_new_session(_REPORT_PRIORITY_OF_A_CHILD) == ["7", "0", "0"]


def test_threads_are_found_by_their_name_and_reniced_once() -> None:
    named, release = threading.Event(), threading.Event()
    thread_ids: list[int] = []

    def named_worker() -> None:
        # What an engine such as ClickHouse does for its merge threads (PR_SET_NAME).
        ctypes.CDLL(None).prctl(15, b"rtapTestMerge", 0, 0, 0)
        thread_ids.append(threading.get_native_id())
        named.set()
        release.wait(10)

    worker = threading.Thread(target=named_worker)
    worker.start()
    try:
        assert named.wait(10)
        assert lower_threads_priority("rtapTestMerge", 6) == 1
        assert os.getpriority(os.PRIO_PROCESS, thread_ids[0]) == 6
        assert lower_threads_priority("rtapTestMerge", 6) == 0  # already there
        assert os.getpriority(os.PRIO_PROCESS, 0) != 6  # the calling thread is untouched
    finally:
        release.set()
        worker.join()
