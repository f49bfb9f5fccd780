"""The figures of `rtap bench storage` from ClickHouse's per-column sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.errors import BenchmarkError
from loadtests.storage import plot_columns, storage_figures, wire_bytes_per_event
from workloads.settings import WorkloadSettings
from workloads.storage.sizes import ColumnSize, TableSize

EVENTS = TableSize(
    "events_raw",
    rows=1_250,
    bytes_on_disk=50_000,
    compressed_bytes=37_500,
    uncompressed_bytes=67_500,
    # The columns' sizes are known over the Wide parts' 1,000 events only.
    wide_rows=1_000,
    columns=[
        ColumnSize("event_id", 16_000, 16_000),
        ColumnSize("event_time", 4_000, 8_000),
        ColumnSize("user_id", 10_000, 30_000),
    ],
)
ROLLUP = TableSize("events_per_minute", 50, 2_500, 2_000, 4_000, 0, [])


def test_each_column_costs_its_bytes_over_the_stored_events() -> None:
    figures = storage_figures([ROLLUP, EVENTS], wire_per_event=300.0)
    assert figures.events == 1_250 and figures.wide_share == 0.8
    assert figures.bytes_per_event == 40.0  # everything the parts hold
    assert figures.column_bytes_per_event == 30.0
    assert figures.uncompressed_per_event == 54.0
    assert [c.name for c in figures.columns] == ["event_id", "user_id", "event_time"]
    event_id = figures.columns[0]
    # Per event of the Wide parts, where ClickHouse keeps each column's size.
    assert event_id.compressed_per_event == 16.0 and event_id.share == pytest.approx(16 / 30)
    assert sum(c.share for c in figures.columns) == pytest.approx(1.0)
    assert figures.against_uncompressed == pytest.approx(54 / 40)
    assert figures.against_wire == pytest.approx(300 / 40)
    # Another table's cost is counted per stored event, so the costs add up.
    assert figures.other_tables["events_per_minute"]["bytes_per_event"] == 2.0


def test_compact_parts_alone_give_totals_without_columns() -> None:
    compact = TableSize("events_raw", 500, 30_000, 20_000, 40_000, 0, [])
    figures = storage_figures([compact], 300.0)
    assert figures.columns == [] and figures.wide_share == 0.0
    assert figures.bytes_per_event == 60.0 and figures.column_bytes_per_event == 40.0


def test_an_empty_store_is_refused_with_what_to_do() -> None:
    empty = TableSize("events_raw", 0, 0, 0, 0, 0, [])
    for tables in ([], [empty]):
        with pytest.raises(BenchmarkError, match="produce some first"):
            storage_figures(tables, 300.0)


def test_the_wire_size_is_the_producers_messages() -> None:
    size = wire_bytes_per_event(WorkloadSettings(), sample=2_000)
    # A JSON event with ids, a type, a time and properties: some hundreds of bytes.
    assert 100 < size < 2_000


def test_the_plot_has_a_bar_per_column(tmp_path: Path) -> None:
    path = plot_columns(storage_figures([EVENTS], 300.0), tmp_path / "storage.png")
    assert path.stat().st_size > 5_000
