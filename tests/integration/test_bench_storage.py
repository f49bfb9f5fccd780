"""`rtap bench storage` on the tests' platform, through the real CLI: ClickHouse's own
per-column figures of what the earlier tests stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from rtap.local.processes.local_processes import LocalProcesses
from workloads.events.model import AnalyticsEvent

pytestmark = pytest.mark.integration


def test_the_stored_events_cost_is_reported_per_column(
    processes: LocalProcesses, platform_environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "storage.json"
    done = subprocess.run(
        [sys.executable, "-m", "rtap.cli", "bench", "storage", "--json", str(out)],
        env={**os.environ, **platform_environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = orjson.loads(out.read_bytes())
    assert figures["events"] > 0
    # The tests store too little for Wide parts (min_bytes_for_wide_part, 10 MB): the
    # per-column figures are then said to be missing, not shown as zeros.
    if figures["wide_share"] == 0:
        assert figures["columns"] == []
        assert "no per-column figures" in done.stdout
    else:
        columns = {column["name"]: column for column in figures["columns"]}
        # Every field of the event model is a column, plus where it came from in Kafka.
        assert set(AnalyticsEvent.__dataclass_fields__) <= set(columns)
        assert {"kafka_partition", "kafka_offset"} <= set(columns)
        assert sum(column["share"] for column in columns.values()) == pytest.approx(1.0)
    # The parts hold the columns and more (marks, indexes); the codecs compress.
    assert figures["bytes_per_event"] > figures["column_bytes_per_event"] > 0
    assert figures["uncompressed_per_event"] > figures["column_bytes_per_event"]
    assert figures["wire_bytes_per_event"] > figures["bytes_per_event"]
    assert "events_per_minute" in figures["other_tables"]
    assert Path(figures["plot"]).stat().st_size > 0
    assert "bytes per event on disk" in done.stdout
