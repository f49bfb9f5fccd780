from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rtap.local.status_file import STATUS_MAX_AGE_S, StatusFile


def test_a_status_reads_back_with_its_extras(tmp_path: Path) -> None:
    status = StatusFile(tmp_path / "staging" / "status.json")
    assert status.read() is None
    status.write("running", "streaming", queries={"sessions": {"active": True}})
    current = status.read()
    assert current is not None
    assert (current["state"], current["detail"], current["pid"]) == (
        "running",
        "streaming",
        os.getpid(),
    )
    assert current["queries"] == {"sessions": {"active": True}}
    assert [p.name for p in (tmp_path / "staging").iterdir()] == ["status.json"]


def test_a_stale_or_torn_status_reads_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "status.json"
    status = StatusFile(path)
    status.write("running", "streaming")
    later = time.time() + STATUS_MAX_AGE_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert status.read() is None
    monkeypatch.undo()
    path.write_bytes(b'{"state": "runn')
    assert status.read() is None
