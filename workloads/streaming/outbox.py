"""Handing closed sessions from the sessionizer process to the process that owns ClickHouse.

Locally the sessions query runs in a Spark process of its own, at low CPU priority, so
that its bursts of stateful work never delay ingest (docs/architecture.md). chDB allows
one engine per process, so that process cannot insert: each batch's sessions go to an
outbox folder as one Arrow file, and the platform process loads the files into
ClickHouse in batch order and deletes each once it is stored.

Exactly once holds across crashes of either process. A batch that Spark replays writes
the same file again (same name, same content); a file that was loaded before the crash is
loaded again, and ClickHouse drops the repeat by its content token. A file is deleted
only after its insert, so a crash of the platform loses nothing either.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import structlog
from pyarrow import ipc

from workloads.streaming.metrics import BatchRecord

log = structlog.get_logger(__name__)

_SUFFIX = ".arrow"
_BATCH_ID = b"rtap.batch_id"
_COLLECT_S = b"rtap.collect_s"
_RETRY_AFTER_FAILURE_S = 5.0

SessionsWriter = Callable[[pa.Table, int, float], BatchRecord]


@dataclass(frozen=True)
class OutboxBatch:
    path: Path
    batch_id: int


class SessionOutbox:
    """The sessionizer's side: one file per batch, named after the query's checkpoint.

    The checkpoint's name is part of the file name: a query that starts a new checkpoint
    counts batches from 0 again, and must not overwrite files the old one left unloaded.
    """

    def __init__(self, folder: Path, checkpoint_name: str) -> None:
        self._folder = folder
        self._prefix = f"{checkpoint_name}-"
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, sessions: pa.Table, batch_id: int, collect_s: float) -> BatchRecord:
        """Write the batch's file (an empty batch too, so the platform sees progress)."""
        started = time.perf_counter()
        target = self._folder / f"{self._prefix}{batch_id:012d}{_SUFFIX}"
        # Written under a hidden name and renamed, so the loader never reads half a file.
        temporary = self._folder / f".{target.name}.tmp"
        metadata = {_BATCH_ID: str(batch_id).encode(), _COLLECT_S: repr(collect_s).encode()}
        table = sessions.replace_schema_metadata(metadata)
        with pa.OSFile(str(temporary), "wb") as sink, ipc.new_file(sink, table.schema) as file:
            file.write_table(table)
        os.replace(temporary, target)
        stages_s = {"collect": collect_s, "outbox": time.perf_counter() - started}
        record = BatchRecord.of_sessions(batch_id, sessions.num_rows, stages_s)
        log.info("sessions batch handed over", batch_id=batch_id, rows=sessions.num_rows)
        return record


def pending_batches(folder: Path) -> list[OutboxBatch]:
    """Files waiting to be loaded, oldest checkpoint and lowest batch id first."""
    if not folder.is_dir():
        return []
    batches = []
    for path in folder.glob(f"*{_SUFFIX}"):
        if path.name.startswith("."):
            continue
        _, _, number = path.stem.rpartition("-")
        if number.isdigit():
            batches.append(OutboxBatch(path, int(number)))
    return sorted(batches, key=lambda batch: (batch.path.stem.rpartition("-")[0], batch.batch_id))


def read_batch(batch: OutboxBatch) -> tuple[pa.Table, float]:
    """The sessions of one file and the seconds Spark took to compute them."""
    with pa.memory_map(str(batch.path)) as source:
        table = ipc.open_file(source).read_all()
    metadata = table.schema.metadata or {}
    collect_s = float(metadata.get(_COLLECT_S, b"0"))
    return table.replace_schema_metadata(None), collect_s


class SessionOutboxLoader:
    """The platform's side: a thread that stores each file's sessions, then deletes it."""

    def __init__(self, folder: Path, writer: SessionsWriter, interval_s: float = 0.5) -> None:
        self._folder = folder
        self._writer = writer
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sessions-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30.0)

    def load_pending(self) -> int:
        """Store and delete every file waiting now; returns how many were loaded.

        Stops at the first failure and leaves that file (and those after it) for the
        next call, so batches are stored in order and none is skipped.
        """
        loaded = 0
        for batch in pending_batches(self._folder):
            table, collect_s = read_batch(batch)
            self._writer(table, batch.batch_id, collect_s)
            batch.path.unlink()
            loaded += 1
        return loaded

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.load_pending()
            except Exception as error:  # noqa: BLE001 - a failed insert is retried, never lost
                log.error(
                    "loading closed sessions failed; retrying",
                    folder=str(self._folder),
                    in_s=_RETRY_AFTER_FAILURE_S,
                    error=f"{type(error).__name__}: {error}",
                )
                self._stop.wait(_RETRY_AFTER_FAILURE_S)
                continue
            self._stop.wait(self._interval_s)
