"""A run asks the platform again while the supervisor restarts it, and only then."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.stack_config import find_project_dir, load_stack
from infra.settings import StackSettings
from rtap.local.platform.control_client import ControlClient, ControlError, ControlUnavailableError
from rtap.local.processes.local_processes import PLATFORM, LocalProcesses
from rtap.local.processes.supervisor import CRASH_LOOP, RESTARTING
from rtap.local.runs.pipeline_run import PipelineRun


class PlatformState:
    """A supervisor as far as a run sees it: the platform's state."""

    def __init__(self, state: str) -> None:
        self.state = state

    def snapshot(self) -> dict[str, PlatformState]:
        return {PLATFORM: self}


def _run(tmp_path: Path, supervisor: PlatformState | None) -> PipelineRun:
    settings = load_stack(
        StackSettings, "local", find_project_dir(), environ={"RTAP_LOCAL__RUN_DIR": str(tmp_path)}
    )
    processes = LocalProcesses(settings, find_project_dir())
    control = ControlClient(port=1, token="unused")  # never called: `_ask` gets the calls
    return PipelineRun(processes, control, settings.producer, supervisor)  # type: ignore[arg-type]


def _failing(times: int, error: ControlError) -> Callable[[], str]:
    calls = [0]

    def call() -> str:
        calls[0] += 1
        if calls[0] <= times:
            raise error
        return f"answered on call {calls[0]}"

    return call


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _: None)  # the retry pause


def test_a_restarting_platform_is_asked_again(tmp_path: Path) -> None:
    run = _run(tmp_path, PlatformState(RESTARTING))
    assert run._ask(_failing(3, ControlUnavailableError("down"))) == "answered on call 4"


def test_without_a_supervisor_an_unanswered_call_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(ControlUnavailableError):
        _run(tmp_path, None)._ask(_failing(1, ControlUnavailableError("down")))


def test_a_crash_looping_platform_is_not_waited_for(tmp_path: Path) -> None:
    with pytest.raises(ControlUnavailableError):
        _run(tmp_path, PlatformState(CRASH_LOOP))._ask(_failing(1, ControlUnavailableError("x")))


def test_an_error_the_platform_answers_with_is_raised_at_once(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="500"):
        _run(tmp_path, PlatformState(RESTARTING))._ask(_failing(1, ControlError("500 boom")))
