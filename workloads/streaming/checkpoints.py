"""Reading and repairing Spark streaming checkpoints on the local filesystem."""

from __future__ import annotations

from pathlib import Path

import orjson


def remove_orphaned_temp_files(checkpoint: Path) -> list[Path]:
    """Delete the temp files of checkpoint writes a crash interrupted.

    Spark writes each checkpoint file to `.<name>.<uuid>.tmp` and renames it. A kill
    between the two leaves the temp file behind, and Spark 4.2 then refuses to start a
    query whose first batch never committed ("checkpoint location should be empty on
    batch 0"). Only call this while no driver uses the checkpoint.
    """
    if not checkpoint.is_dir():
        return []
    orphans = [
        path
        for path in checkpoint.rglob(".*")
        if path.is_file() and (path.name.endswith(".tmp") or path.name.endswith(".tmp.crc"))
    ]
    for path in orphans:
        path.unlink()
    return orphans


def committed_offsets(checkpoint: Path, topic: str) -> dict[int, int]:
    """End offsets of the last batch a checkpoint has committed ({} for a new query).

    Spark reports offsets only when a batch runs; reading the checkpoint tells where a
    restarted query stands before new data arrives.
    """
    committed = [int(p.name) for p in (checkpoint / "commits").glob("[0-9]*")]
    if not committed:
        return {}
    lines = (checkpoint / "offsets" / str(max(committed))).read_text().splitlines()
    for line in reversed(lines):
        if line.startswith("{") and f'"{topic}"' in line:
            return {int(p): int(o) for p, o in orjson.loads(line)[topic].items()}
    return {}
