"""Recording benchmark figures: one table per benchmark in docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import psutil


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


def row_prefix(project_dir: Path) -> str:
    """The first cells every benchmark row has: date, commit, machine and command."""
    return (
        f"| {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} | {commit_id(project_dir)} | "
        f"{machine_description()} | `{command_line()}` | "
    )


def append_row(path: Path, section: str, header: str, row: str) -> None:
    """Add `row` at the end of the table under `## section`, creating both if needed."""
    content = path.read_text() if path.is_file() else "# Benchmarks\n"
    if f"## {section}\n" not in content:
        content = content.rstrip("\n") + f"\n\n## {section}\n\n" + header
    marker = content.index(header, content.index(f"## {section}\n")) + len(header)
    end = content.find("\n\n", marker)
    end = len(content) if end == -1 else end + 1
    path.write_text(content[:end] + row + content[end:])
