"""Where a benchmark's figures go: the run's own folder always, and with `--record` one
JSON line in the benchmark history under docs/, with the machine, commit and command
that produced them."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

# Relative to the project: the only file a benchmark writes into the source tree, and only
# when asked to (`--record`).
HISTORY_FILE = Path("docs") / "benchmark-history.jsonl"


def machine_description() -> str:
    memory_gib = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.machine()}"


def commit_id(project_dir: Path) -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=project_dir,
        check=False,
    )
    return completed.stdout.strip() or "?"


def command_line() -> str:
    return "rtap " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


def history_row(benchmark: str, project_dir: Path, figures: dict[str, Any]) -> dict[str, Any]:
    """One recorded run: what was measured, when, where, at which commit and how."""
    return {
        "benchmark": benchmark,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "commit": commit_id(project_dir),
        "machine": machine_description(),
        "command": command_line(),
        "figures": figures,
    }


def record(project_dir: Path, row: dict[str, Any]) -> Path:
    """Append `row` to the history; returns the history file."""
    path = project_dir / HISTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as history:
        history.write(orjson.dumps(row) + b"\n")
    return path


def write_json(path: Path, document: dict[str, Any]) -> Path:
    """A benchmark's whole result, indented, as `--json` and the run folder hold it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path
