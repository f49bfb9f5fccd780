"""`rtap down` first stops the CLI that supervises the stack, and only that CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from core.stack_config import find_project_dir, load_stack
from infra.settings import StackSettings
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.run import stop_supervising_cli
from rtap.local.status_file import StatusFile

SLEEP = "import sys, time; time.sleep(60)"


def _processes(tmp_path: Path) -> LocalProcesses:
    settings = load_stack(
        StackSettings, "local", find_project_dir(), environ={"RTAP_LOCAL__RUN_DIR": str(tmp_path)}
    )
    return LocalProcesses(settings, find_project_dir())


def _supervised_by(processes: LocalProcesses, process: subprocess.Popen[bytes]) -> None:
    """The status a supervising CLI publishes, as if `process` had written it."""
    StatusFile(processes.paths.supervisor_status).write("supervising", "", pid=process.pid)


def test_the_supervising_cli_is_asked_to_stop_and_waited_for(tmp_path: Path) -> None:
    processes = _processes(tmp_path)
    cli = subprocess.Popen([sys.executable, "-c", SLEEP, "rtap", "up"])
    try:
        _supervised_by(processes, cli)
        assert stop_supervising_cli(processes, timeout_s=10) == cli.pid
        cli.wait(5)  # stopped by SIGTERM (psutil reaped it, so no exit code is left)
        assert not psutil.pid_exists(cli.pid)
    finally:
        cli.kill()


def test_a_pid_that_is_not_an_rtap_cli_is_left_alone(tmp_path: Path) -> None:
    processes = _processes(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", SLEEP])
    try:
        _supervised_by(processes, other)
        assert stop_supervising_cli(processes, timeout_s=10) is None
        assert other.poll() is None
    finally:
        other.kill()


def test_without_a_supervising_cli_there_is_nothing_to_stop(tmp_path: Path) -> None:
    assert stop_supervising_cli(_processes(tmp_path)) is None
