"""`rtap bench storage`: what one stored event costs on disk, per column and in total,
against the JSON it arrived as and against ClickHouse's uncompressed size.

It measures what is stored; it stores nothing itself. Run it after an ingest run (or
`rtap produce`) so that the table holds enough events for the codecs to show.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtests.errors import BenchmarkError
from loadtests.history import history_row, record, write_json
from loadtests.plots import pyplot
from workloads.producer.generator import TrafficGenerator
from workloads.settings import WorkloadSettings
from workloads.storage.sizes import TableSize

EVENTS_TABLE = "events_raw"
# Synthetic events drawn to size the JSON on the wire.
_WIRE_SAMPLE = 20_000
# Fewer stored events than this, and per-event figures say more about part overheads
# (marks, indexes, the first granule) than about the codecs.
_FEW_EVENTS = 100_000


@dataclass(frozen=True)
class ColumnCost:
    name: str
    compressed_per_event: float
    uncompressed_per_event: float
    share: float  # of the columns' compressed bytes


@dataclass(frozen=True)
class StorageFigures:
    events: int
    # The share of the events in Wide parts, over which `columns` is measured.
    wide_share: float
    bytes_per_event: float  # on disk: columns, marks, primary and skip indexes
    column_bytes_per_event: float
    uncompressed_per_event: float
    wire_bytes_per_event: float
    columns: list[ColumnCost]
    other_tables: dict[str, dict[str, float]]

    @property
    def against_uncompressed(self) -> float:
        return self.uncompressed_per_event / self.bytes_per_event

    @property
    def against_wire(self) -> float:
        return self.wire_bytes_per_event / self.bytes_per_event

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "wide_share": self.wide_share,
            "bytes_per_event": self.bytes_per_event,
            "column_bytes_per_event": self.column_bytes_per_event,
            "uncompressed_per_event": self.uncompressed_per_event,
            "wire_bytes_per_event": self.wire_bytes_per_event,
            "against_uncompressed": self.against_uncompressed,
            "against_wire": self.against_wire,
            "columns": [vars(column) for column in self.columns],
            "other_tables": self.other_tables,
        }


def wire_bytes_per_event(settings: WorkloadSettings, sample: int = _WIRE_SAMPLE) -> float:
    """The mean size of the producer's messages (key and JSON value), as it sends them."""
    generator = TrafficGenerator(settings.producer, settings.events)
    batch = generator.next_batch(time.time(), sample)
    sizes = [len(key) + len(value) for key, value in zip(batch.keys, batch.values, strict=True)]
    return sum(sizes) / len(sizes)


def storage_figures(tables: Iterable[TableSize], wire_per_event: float) -> StorageFigures:
    """Per-event figures of the events table, with the other tables' costs per event.
    Each column's cost is measured over the Wide parts, the only ones that keep it."""
    by_name = {table.table: table for table in tables}
    events = by_name.get(EVENTS_TABLE)
    if events is None or events.rows == 0:
        raise BenchmarkError(
            f"{EVENTS_TABLE} holds no events yet: produce some first (rtap bench ingest, "
            "or rtap produce), then measure"
        )
    rows, wide = events.rows, events.wide_rows
    in_columns = sum(column.compressed_bytes for column in events.columns)
    costs = [
        ColumnCost(
            column.name,
            column.compressed_bytes / wide,
            column.uncompressed_bytes / wide,
            column.compressed_bytes / in_columns if in_columns else 0.0,
        )
        for column in (events.columns if wide else [])
    ]
    columns = sorted(costs, key=lambda cost: -cost.compressed_per_event)
    others = {
        table.table: {"rows": table.rows, "bytes_per_event": table.bytes_on_disk / rows}
        for table in by_name.values()
        if table.table != EVENTS_TABLE
    }
    return StorageFigures(
        events=rows,
        wide_share=wide / rows,
        bytes_per_event=events.bytes_on_disk / rows,
        column_bytes_per_event=events.compressed_bytes / rows,
        uncompressed_per_event=events.uncompressed_bytes / rows,
        wire_bytes_per_event=wire_per_event,
        columns=columns,
        other_tables=others,
    )


def print_figures(console: Console, figures: StorageFigures) -> None:
    title = f"{EVENTS_TABLE}: bytes per event, per column ({figures.wide_share:.0%} of the events)"
    table = Table(title=title)
    for header in ("column", "on disk", "uncompressed", "ratio", "share"):
        table.add_column(header, justify="left" if header == "column" else "right")
    for column in figures.columns:
        ratio = column.uncompressed_per_event / max(column.compressed_per_event, 1e-9)
        table.add_row(
            column.name,
            f"{column.compressed_per_event:.2f}",
            f"{column.uncompressed_per_event:.2f}",
            f"{ratio:.1f}x",
            f"{column.share:.0%}",
        )
    if figures.columns:
        console.print(table)
    else:
        console.print(
            f"no per-column figures: all {figures.events:,} events are in Compact parts, "
            "which ClickHouse keeps in one file (below min_bytes_for_wide_part)"
        )
    console.print(
        f"{figures.bytes_per_event:.1f} bytes per event on disk (columns "
        f"{figures.column_bytes_per_event:.1f}, the rest marks and indexes); "
        f"{figures.against_uncompressed:.1f}x against ClickHouse's uncompressed "
        f"{figures.uncompressed_per_event:.1f} B, {figures.against_wire:.1f}x against the "
        f"{figures.wire_bytes_per_event:.0f} B each event takes on the wire"
    )
    for name, other in figures.other_tables.items():
        console.print(f"{name}: {other['bytes_per_event']:.2f} bytes per stored event")
    if figures.events < _FEW_EVENTS:
        console.print(
            f"[yellow]only {figures.events:,} events: per-event figures are dominated by "
            f"part overheads below about {_FEW_EVENTS:,}[/]"
        )


def plot_columns(figures: StorageFigures, path: Path) -> Path:
    """Bytes per event of each column, compressed beside uncompressed."""
    plt = pyplot()
    names = [column.name for column in reversed(figures.columns)]
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
    positions = range(len(names))
    uncompressed = [c.uncompressed_per_event for c in reversed(figures.columns)]
    compressed = [c.compressed_per_event for c in reversed(figures.columns)]
    axes.barh([p + 0.2 for p in positions], uncompressed, 0.4, label="uncompressed")
    axes.barh([p - 0.2 for p in positions], compressed, 0.4, label="on disk (after codecs)")
    axes.set_yticks(list(positions), names)
    axes.set_xlabel("bytes per event")
    axes.set_title(
        f"{EVENTS_TABLE}: {figures.bytes_per_event:.1f} B/event on disk, {figures.events:,} events"
    )
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def report_storage(
    figures: StorageFigures, run_dir: Path, console: Console, project_dir: Path | None
) -> dict[str, Any]:
    """Print, plot and write the figures (and record them when `project_dir` is given)."""
    print_figures(console, figures)
    plot = plot_columns(figures, run_dir / "storage.png")
    document = {**figures.to_dict(), "plot": str(plot)}
    write_json(run_dir / "storage.json", document)
    console.print(f"plot: {plot}\nfigures: {run_dir / 'storage.json'}")
    if project_dir is not None:
        row = history_row("storage", project_dir, figures.to_dict())
        console.print(f"recorded in {record(project_dir, row)}")
    return document
