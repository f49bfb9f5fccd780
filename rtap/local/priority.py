"""Lowering the CPU priority of a process, or of some of its threads, without privilege:
how the local platform keeps stateful bursts and merges out of ingest's way."""

from __future__ import annotations

import os
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def lower_own_priority(niceness: int) -> None:
    """Run this process, and every thread and child it starts from now on, at `niceness`.

    Linux shares CPU between autogroups (one per session) before it looks at nice
    values, and rtap starts each process as a session leader, so the autogroup's nice
    value is raised as well; a nice value alone would change nothing against the other
    processes. Raising either needs no privilege. A process that does not lead its
    session leaves the autogroup alone: it is shared with the rest of the session (the
    shell that started it, say).
    """
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.nice(niceness - current)
    autogroup = Path("/proc/self/autogroup")
    if autogroup.exists() and os.getsid(0) == os.getpid():
        try:
            autogroup.write_text(str(niceness))
        except OSError as error:
            log.warning("could not lower the autogroup's priority", error=str(error))
    log.info("running at low CPU priority", niceness=os.getpriority(os.PRIO_PROCESS, 0))


def lower_threads_priority(thread_name: str, niceness: int) -> int:
    """Raise the nice value of this process's threads named `thread_name` (their
    `comm`, as the engine that started them set it); returns how many were changed.

    Linux keeps a nice value per thread, so this reaches threads a library started and
    names, such as the embedded ClickHouse's merge threads. Raising it needs no
    privilege.
    """
    changed = 0
    for task in Path("/proc/self/task").glob("*"):
        try:
            if (task / "comm").read_text().strip() != thread_name:
                continue
            thread_id = int(task.name)
            if os.getpriority(os.PRIO_PROCESS, thread_id) < niceness:
                os.setpriority(os.PRIO_PROCESS, thread_id, niceness)
                changed += 1
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
    return changed
