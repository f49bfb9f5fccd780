"""promtool (3.16.0, built from its Go module) checks the rules rendered for every stack
and runs their unit tests: each alert fires on its firing case and stays silent on its
silent ones. A threshold moved out of step with its cases fails those tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from core.stack_config import load_stack
from infra.monitoring.rules import RULE_FILE_NAME, rendered_rules, rendered_tests
from infra.settings import StackSettings
from rtap.go_tools import built_tools

PROJECT = Path(__file__).resolve().parents[2]
STACKS = ("local", "dev", "staging", "prod")


@pytest.fixture(scope="module")
def promtool() -> Path:
    return built_tools("prometheus") / "promtool"


def write_rules(stack: str, folder: Path) -> list[str]:
    """Writes the stack's rule file and promtool's files; returns the test files' names."""
    settings = load_stack(StackSettings, stack, PROJECT)
    (folder / RULE_FILE_NAME).write_text(yaml.safe_dump(rendered_rules(settings)))
    files = rendered_tests(settings)
    for name, content in files.items():
        (folder / name).write_text(yaml.safe_dump(content))
    return sorted(name for name in files if name.startswith("tests-"))


def run(promtool: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], check=False, cwd=folder, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_checks_the_rules_and_runs_every_alert_test(
    stack: str, promtool: Path, tmp_path: Path
) -> None:
    test_files = write_rules(stack, tmp_path)
    rules = yaml.safe_load((tmp_path / RULE_FILE_NAME).read_text())
    count = sum(len(group["rules"]) for group in rules["groups"])

    checked = run(promtool, tmp_path, "check", "rules", RULE_FILE_NAME)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {count} rules found" in checked.stdout

    tested = run(promtool, tmp_path, "test", "rules", *test_files)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(test_files)


@pytest.mark.parametrize(
    ("threshold", "failing_test"),
    [("> 5000", "ClickHouseTooManyParts fires"), ("> 10", "ClickHouseTooManyParts stays silent")],
)
def test_a_threshold_out_of_step_with_its_cases_fails_promtool(
    threshold: str, failing_test: str, promtool: Path, tmp_path: Path
) -> None:
    write_rules("prod", tmp_path)
    rules = tmp_path / "rules-rtap-clickhouse.yaml"
    text = rules.read_text()
    assert "MaxPartCountForPartition) > 500" in text
    rules.write_text(
        text.replace("MaxPartCountForPartition) > 500", f"MaxPartCountForPartition) {threshold}")
    )

    tested = run(promtool, tmp_path, "test", "rules", "tests-rtap-clickhouse-1m.yaml")
    assert tested.returncode == 1
    assert failing_test in tested.stdout + tested.stderr
