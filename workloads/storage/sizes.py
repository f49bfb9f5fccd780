"""What the stored tables take on disk, per column, as ClickHouse reports it
(system.parts and system.columns): the figures of `rtap bench storage`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ColumnSize:
    name: str
    # After the column's codec, and before it: ClickHouse's own figures.
    compressed_bytes: int
    uncompressed_bytes: int


@dataclass(frozen=True)
class TableSize:
    table: str
    # Rows in the active parts: duplicates a ReplacingMergeTree has not merged away count.
    rows: int
    # Everything the active parts hold: the columns, marks, the primary index, skip indexes.
    bytes_on_disk: int
    # The columns' data of all active parts, after the codecs and before them.
    compressed_bytes: int
    uncompressed_bytes: int
    # ClickHouse keeps a part below min_bytes_for_wide_part in one file (Compact), and
    # knows each column's size only in Wide parts: `columns` covers those, `wide_rows` rows.
    wide_rows: int
    columns: list[ColumnSize]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, document: dict[str, Any]) -> TableSize:
        columns = [ColumnSize(**column) for column in document["columns"]]
        return cls(**{**document, "columns": columns})


def table_sizes(client: Any, database: str) -> list[TableSize]:
    """Every table of `database` that has active parts, in name order."""
    parts = client.query(
        "SELECT table, sum(rows), sum(bytes_on_disk), sum(data_compressed_bytes), "
        "sum(data_uncompressed_bytes), sumIf(rows, part_type = 'Wide') FROM system.parts "
        "WHERE database = {db:String} AND active GROUP BY table ORDER BY table",
        parameters={"db": database},
    ).result_rows
    columns = client.query(
        "SELECT table, column, sum(column_data_compressed_bytes), "
        "sum(column_data_uncompressed_bytes) FROM system.parts_columns "
        "WHERE database = {db:String} AND active AND part_type = 'Wide' "
        "GROUP BY table, column ORDER BY table, column",
        parameters={"db": database},
    ).result_rows
    per_table: dict[str, list[ColumnSize]] = {}
    for table, name, compressed, uncompressed in columns:
        per_table.setdefault(table, []).append(ColumnSize(name, int(compressed), int(uncompressed)))
    return [
        TableSize(
            table,
            rows=int(rows),
            bytes_on_disk=int(on_disk),
            compressed_bytes=int(compressed),
            uncompressed_bytes=int(uncompressed),
            wide_rows=int(wide_rows),
            columns=per_table.get(table, []),
        )
        for table, rows, on_disk, compressed, uncompressed, wide_rows in parts
    ]
