"""JSON log lines for anything the code logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import structlog

from core.logs import configure_logging


def test_log_lines_are_json_whatever_the_values(tmp_path: Path) -> None:
    destination = tmp_path / "x.log"
    configure_logging(destination)
    structlog.get_logger("t").info(
        "offsets", by_partition={0: 12, 3: 7}, at=datetime(2026, 1, 1, tzinfo=UTC), obj=object()
    )
    line = json.loads(destination.read_text().splitlines()[-1])
    assert line["by_partition"] == {"0": 12, "3": 7}
    assert line["at"].startswith("2026-01-01T00:00:00")
    assert line["obj"].startswith("<object object")
    assert line["event"] == "offsets" and line["level"] == "info"
