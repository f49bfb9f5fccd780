"""`rtap render`: zero errors on the real stacks, errors that name the object and the
field, and files that diff cleanly."""

from __future__ import annotations

import copy
import filecmp
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from infra.components import k8s
from infra.components import kafka as kafka_component
from rtap.cli import app
from tests.unit.infra.conftest import PROJECT, STACKS

runner = CliRunner()


def _render(*args: str) -> Any:
    return runner.invoke(app, ["render", *args], catch_exceptions=False)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_renders_with_no_errors(stack: str, tmp_path: Path) -> None:
    result = _render("--stack", stack, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "objects valid against Kubernetes" in result.output
    assert "Pods per zone" in result.output
    written = {p.name for p in tmp_path.glob("*.yaml")}
    assert {"rtap.yaml", "helm-strimzi-operator.yaml"} <= written
    release = yaml.safe_load((tmp_path / "helm-strimzi-operator.yaml").read_text())
    assert release["chart"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert release["version"] and release["repository"] is None
    kinds = {doc["kind"] for doc in yaml.safe_load_all((tmp_path / "rtap.yaml").read_text())}
    assert {
        "Kafka",
        "ClickHouseInstallation",
        "SparkApplication",
        "Deployment",
        "StatefulSet",
    } <= kinds


def _first(path: Path, kind: str) -> dict[str, Any]:
    return next(d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == kind)


def test_a_broken_custom_resource_fails_naming_the_field(tmp_path: Path) -> None:
    assert _render("--stack", "prod", "--out", str(tmp_path)).exit_code == 0
    broken = copy.deepcopy(_first(tmp_path / "rtap.yaml", "Kafka"))
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


def test_render_replaces_its_own_files_and_leaves_others(tmp_path: Path) -> None:
    mine = tmp_path / "helm-dropped-release.yaml"
    mine.write_text("# Rendered by `rtap render --stack dev`: stale\nname: dropped\n")
    theirs = tmp_path / "values.yaml"
    theirs.write_text("kept: true\n")
    assert _render("--stack", "dev", "--out", str(tmp_path)).exit_code == 0
    assert not mine.exists()
    assert theirs.read_text() == "kept: true\n"
    assert (
        (tmp_path / "rtap.yaml").read_text().startswith("# Rendered by `rtap render --stack dev`")
    )


def test_two_renders_write_identical_files(tmp_path: Path) -> None:
    for run in ("first", "second"):
        assert _render("--stack", "prod", "--out", str(tmp_path / run)).exit_code == 0
    comparison = filecmp.dircmp(tmp_path / "first", tmp_path / "second")
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
