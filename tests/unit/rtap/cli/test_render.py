"""`rtap render`: zero errors on the real stacks, errors that name the object and the
field, and files that diff cleanly."""

from __future__ import annotations

import copy
import filecmp
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from infra.components import k8s
from infra.components import kafka as kafka_component
from rtap.cli import app
from rtap.render.report import MARKER
from tests.unit.infra.conftest import PROJECT, STACKS

runner = CliRunner()


def _render(*args: str) -> Any:
    return runner.invoke(app, ["render", *args], catch_exceptions=False)


@dataclass(frozen=True)
class Written:
    """One `rtap render --stack STACK --out folder` run, into a folder that held, before
    the run, a stale file of an earlier render (STALE) and a file of the user's (THEIRS)."""

    exit_code: int
    output: str
    folder: Path


STALE = "helm-dropped-release.yaml"
THEIRS = "values.yaml"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Written]:
    """Each stack rendered through the CLI once per module: a render takes 15-25 s here."""
    runs: dict[str, Written] = {}

    def get(stack: str) -> Written:
        if stack not in runs:
            folder = tmp_path_factory.mktemp(f"render-{stack}")
            (folder / STALE).write_text(f"{MARKER} --stack {stack}`: stale\nname: dropped\n")
            (folder / THEIRS).write_text("kept: true\n")
            result = _render("--stack", stack, "--out", str(folder))
            runs[stack] = Written(result.exit_code, result.output, folder)
        return runs[stack]

    return get


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_renders_with_no_errors(stack: str, written: Callable[[str], Written]) -> None:
    result = written(stack)
    folder = result.folder
    assert result.exit_code == 0, result.output
    assert "objects valid against Kubernetes" in result.output
    assert "Pods per zone" in result.output
    files = {p.name for p in folder.glob("*.yaml")}
    assert {"rtap.yaml", "helm-strimzi-operator.yaml"} <= files
    release = yaml.safe_load((folder / "helm-strimzi-operator.yaml").read_text())
    assert release["chart"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert release["version"] and release["repository"] is None
    kinds = {doc["kind"] for doc in yaml.safe_load_all((folder / "rtap.yaml").read_text())}
    assert {
        "Kafka",
        "ClickHouseInstallation",
        "SparkApplication",
        "Deployment",
        "StatefulSet",
    } <= kinds


def _first(path: Path, kind: str) -> dict[str, Any]:
    return next(d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == kind)


def test_a_broken_custom_resource_fails_naming_the_field(
    written: Callable[[str], Written], tmp_path: Path
) -> None:
    prod = written("prod")
    assert prod.exit_code == 0, prod.output
    broken = copy.deepcopy(_first(prod.folder / "rtap.yaml", "Kafka"))
    broken["metadata"]["name"] = "broken"
    broken["spec"]["kafka"]["listeners"][0]["tls"] = "yes"
    broken["spec"]["kafka"]["replicas"] = 3
    extra = tmp_path / "broken.yaml"
    extra.write_text(yaml.safe_dump(broken))
    result = _render("--stack", "prod", "--out", str(tmp_path / "out"), "--include", str(extra))
    assert result.exit_code == 1
    assert (
        "Kafka rtap/broken: spec.kafka.listeners[0].tls: 'yes' is not of type 'boolean'"
        in result.output
    )
    assert (
        "Kafka rtap/broken: spec.kafka: Additional properties are not allowed ('replicas'"
        in result.output
    )


def test_a_component_declaring_a_bad_field_fails_the_render(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    original = kafka_component.Kafka._kafka_spec

    def misspelt(self: kafka_component.Kafka) -> dict[str, Any]:
        spec = original(self)
        spec["kafka"]["rackk"] = spec["kafka"].pop("rack")
        return spec

    monkeypatch.setattr(kafka_component.Kafka, "_kafka_spec", misspelt)
    result = _render("--stack", "dev", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert (
        "Kafka rtap/rtap: spec.kafka: Additional properties are not allowed ('rackk'"
        in result.output
    )


def test_bad_stack_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((PROJECT / "Pulumi.yaml").read_text())
    (project / "infra").symlink_to(PROJECT / "infra")
    prod = yaml.safe_load((PROJECT / "stacks" / "Pulumi.prod.yaml").read_text())
    prod["config"]["rtap:cluster"]["zones"] = ["us-east-1a", "us-east-1b"]
    (project / "stacks" / "Pulumi.prod.yaml").write_text(yaml.safe_dump(prod))
    result = runner.invoke(
        app, ["render", "--stack", "prod"], env={"RTAP_PROJECT_DIR": str(project)}
    )
    assert result.exit_code == 2, result.output
    assert "rtap:cluster.zones: prod needs at least 3" in result.output


def test_render_replaces_its_own_files_and_leaves_others(
    written: Callable[[str], Written],
) -> None:
    dev = written("dev")
    assert dev.exit_code == 0, dev.output
    assert not (dev.folder / STALE).exists()
    assert (dev.folder / THEIRS).read_text() == "kept: true\n"
    assert (dev.folder / "rtap.yaml").read_text().startswith(f"{MARKER} --stack dev`")


def test_two_renders_write_identical_files(
    written: Callable[[str], Written], tmp_path: Path
) -> None:
    first = written("prod")
    assert first.exit_code == 0, first.output
    assert _render("--stack", "prod", "--out", str(tmp_path)).exit_code == 0
    (tmp_path / THEIRS).write_text("kept: true\n")  # the first run's folder holds it too
    comparison = filecmp.dircmp(first.folder, tmp_path)
    assert comparison.common_files and not comparison.diff_files
    assert not comparison.left_only and not comparison.right_only


def test_a_dependency_pulumi_would_not_wait_for_fails_the_render(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delitem(k8s.READY_WHEN, "KafkaUser")
    result = _render("--stack", "dev", "--out", str(tmp_path))
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "KafkaUser rtap/streaming: streaming-application (SparkApplication) depends on it" in (
        output
    )
