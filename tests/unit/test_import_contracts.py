"""The import contracts `make lint` runs ([tool.importlinter] in pyproject.toml) hold for
the tree, and break when a module imports upward.

Each case lints a copy of the packages with one module added, so the source tree is never
touched: the copy comes first on the linter's path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
CONFIG = PROJECT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LINTER_CONFIG = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]
ROOT_PACKAGES: list[str] = LINTER_CONFIG["root_packages"]
CONTRACTS = {contract["id"]: contract["name"] for contract in LINTER_CONFIG["contracts"]}


def _copy_of_the_packages(root: Path) -> Path:
    for package in ROOT_PACKAGES:
        shutil.copytree(
            PROJECT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_contracts_hold_for_the_tree(tmp_path: Path) -> None:
    result = _lint(_copy_of_the_packages(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("workloads/upward.py", "import rtap.cli\n", "layers"),
        ("workloads/serving/upward.py", "from infra.settings import StackSettings\n", "layers"),
        ("core/upward.py", "from workloads.settings import WorkloadSettings\n", "layers"),
        ("infra/upward.py", "import rtap\n", "layers"),
        ("loadtests/upward.py", "from infra.settings import StackSettings\n", "layers"),
        ("infra/components/upward.py", "import loadtests.ingest\n", "layers"),
        ("rtap/render/upward.py", "from rtap.local.paths import RunPaths\n", "cli"),
        ("rtap/local/platform/upward.py", "from rtap.local.runs import run\n", "local-runtime"),
        (
            "rtap/local/status_file.py",
            "from rtap.local.processes import registry\n",
            "local-runtime",
        ),
        ("workloads/producer/plot.py", "import matplotlib\n", "workload-images"),
        ("core/cli.py", "import typer\n", "workload-images"),
    ],
)
def test_an_upward_import_breaks_a_contract(
    tmp_path: Path, module: str, source: str, contract: str
) -> None:
    root = _copy_of_the_packages(tmp_path)
    # A module added, or one of the tree's own rewritten, that imports upward.
    (root / module).write_text(f'"""Imports what it must not."""\n\n{source}')
    result = _lint(root)
    importer = module.removesuffix(".py").replace("/", ".")
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert f"{CONTRACTS[contract]} BROKEN" in broken, result.stdout
    assert importer in result.stdout, result.stdout
