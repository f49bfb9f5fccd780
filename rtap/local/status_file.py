"""A small JSON status that a process rewrites for readers in other processes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson

# A status older than this means the process is gone or hung.
STATUS_MAX_AGE_S = 10.0


class StatusFile:
    """A process's state (the sessionizer's, say), replaced atomically on each write."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def write(self, state: str, detail: str, **extra: Any) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_name(f".{self._path.name}.tmp")
        document = {"state": state, "detail": detail, "pid": os.getpid(), "at": time.time()}
        temporary.write_bytes(orjson.dumps({**document, **extra}))
        os.replace(temporary, self._path)

    def read(self) -> dict[str, Any] | None:
        """The last status, or None when there is none or it is stale."""
        try:
            status: dict[str, Any] = orjson.loads(self._path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        if time.time() - float(status.get("at", 0.0)) > STATUS_MAX_AGE_S:
            return None
        return status
