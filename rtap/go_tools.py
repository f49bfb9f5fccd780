"""Tools rtap builds from Go modules once per machine (scripts/build-go-tools): the
Kubernetes control plane for `rtap render --server`, Prometheus and promtool for the
local platform and the alert tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Literal

BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build-go-tools"
ToolSet = Literal["kube-tools", "prometheus"]


class ToolBuildError(RuntimeError):
    """A tool set could not be built; the message says what to do."""


def built_tools(tool_set: ToolSet) -> Path:
    """The folder holding the set's binaries, building them first if this machine has
    none yet (minutes, with progress lines on stderr)."""
    try:
        built = subprocess.run(
            ["bash", str(BUILD_SCRIPT), tool_set], check=True, stdout=subprocess.PIPE, text=True
        )
    except subprocess.CalledProcessError as failed:
        raise ToolBuildError(
            f"building {tool_set} failed (exit {failed.returncode}); the lines above say "
            f"why. Re-run {BUILD_SCRIPT} {tool_set} once it is fixed."
        ) from None
    return Path(built.stdout.strip().splitlines()[-1])
