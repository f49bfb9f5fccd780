"""Deliberate crashes at chosen points, for recovery tests and failover drills.

`RTAP_CRASH_AT=<point>:<n>` makes the process kill itself with SIGKILL (no cleanup, as
a power cut would) the n-th time a micro-batch with records passes `<point>`. The
points sit in the windows that matter for exactly-once: `ingest.after_insert` (raw rows
are in ClickHouse, the dead letters and Spark's commit are not) and
`ingest.after_dead_letters` (everything is written, Spark's commit is not).
"""

from __future__ import annotations

import os
import signal

import structlog

log = structlog.get_logger(__name__)

CRASH_VARIABLE = "RTAP_CRASH_AT"
POINTS = ("ingest.after_insert", "ingest.after_dead_letters")


class CrashPoints:
    def __init__(self, spec: str | None = None) -> None:
        self._point: str | None = None
        self._remaining = 0
        if spec:
            point, _, count = spec.partition(":")
            if point not in POINTS or not count.isdigit() or int(count) < 1:
                raise ValueError(
                    f"{CRASH_VARIABLE}={spec!r}: expected <point>:<n> with point one of {POINTS}"
                )
            self._point, self._remaining = point, int(count)

    @classmethod
    def from_environment(cls) -> CrashPoints:
        return cls(os.environ.get(CRASH_VARIABLE))

    def reached(self, point: str) -> None:
        if point != self._point:
            return
        self._remaining -= 1
        if self._remaining == 0:
            log.warning("crashing on purpose", point=point, variable=CRASH_VARIABLE)
            os.kill(os.getpid(), signal.SIGKILL)
