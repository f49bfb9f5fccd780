from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import SettingsError
from core.stack_config import find_project_dir, load_stack, merge
from infra.settings import StackSettings
from workloads.events import EventType

PROJECT = find_project_dir()


def _stack(tmp_path: Path, body: str) -> Path:
    """A project whose only stack is `t`, with the real project's Pulumi.yaml."""
    (tmp_path / "Pulumi.yaml").write_text((PROJECT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.t.yaml").write_text(body)
    return tmp_path


def test_the_local_stack_loads() -> None:
    settings = load_stack(StackSettings, "local", PROJECT, environ={})
    assert settings.environment == "local"
    assert settings.kafka.partitions == 4
    assert settings.kafka.replication_factor == 1
    assert settings.producer.event_mix[EventType.PAGE_VIEW] == 0.55
    assert settings.sla.freshness_p95_seconds == 2.0


def test_environment_variables_override_single_keys() -> None:
    env = {"RTAP_KAFKA__PARTITIONS": "8", "RTAP_PRODUCER__RATE_PER_SECOND": "1234"}
    settings = load_stack(StackSettings, "local", PROJECT, environ=env)
    assert settings.kafka.partitions == 8
    assert settings.producer.rate_per_second == 1234
    assert settings.kafka.retention_hours == 24  # untouched keys keep the file's values


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RTAP_KAFKA__PARTITIONS": "0"}, r"rtap:kafka\.partitions: .*greater than or equal to 1"),
        ({"RTAP_KAFKA__PARTITIONS": "0"}, r"environment variable RTAP_KAFKA__PARTITIONS"),
        ({"RTAP_PRODUCER__RATE_PER_SECOND": "fast"}, r"rtap:producer\.ratePerSecond"),
        ({"RTAP_KAFKA__PARTITONS": "3"}, r"rtap:kafka\.partitons: Extra inputs"),
        ({"RTAP_NOPE__X": "1"}, r"RTAP_NOPE__X: there is no settings section rtap:nope"),
        ({"RTAP_KAFKA__MIN_INSYNC_REPLICAS": "2"}, r"minInsyncReplicas \(2\) cannot exceed"),
        ({"RTAP_LOCAL__KAFKA_PORT": "80"}, r"rtap:local\.kafkaPort"),
        ({"RTAP_PRODUCER__MALFORMED_SHARE": "1.5"}, r"rtap:producer\.malformedShare"),
        ({"RTAP_EVENTS__MAX_AGE_SECONDS": "9999999"}, r"must be below clickhouse\.rawRetention"),
        ({"RTAP_CLICKHOUSE__DATABASE": "x; DROP"}, r"rtap:clickhouse\.database"),
    ],
)
def test_a_bad_value_names_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_stack(StackSettings, "local", PROJECT, environ=env)


def test_a_bad_value_in_the_file_names_the_file(tmp_path: Path) -> None:
    project = _stack(tmp_path, "config:\n  rtap:kafka:\n    partitions: -3\n")
    with pytest.raises(SettingsError, match=r"rtap:kafka\.partitions.*Pulumi\.t\.yaml"):
        load_stack(StackSettings, "t", project, environ={})


def test_an_unknown_section_in_the_file_is_an_error(tmp_path: Path) -> None:
    project = _stack(tmp_path, "config:\n  rtap:kafak:\n    partitions: 3\n")
    with pytest.raises(SettingsError, match="rtap:kafak: Extra inputs are not permitted"):
        load_stack(StackSettings, "t", project, environ={})


def test_other_namespaces_are_ignored(tmp_path: Path) -> None:
    project = _stack(tmp_path, "config:\n  aws:region: eu-west-1\n  rtap:environment: t\n")
    assert load_stack(StackSettings, "t", project, environ={}).environment == "t"


def test_invalid_yaml_and_missing_stacks_are_explained(tmp_path: Path) -> None:
    project = _stack(tmp_path, "config: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_stack(StackSettings, "t", project, environ={})
    with pytest.raises(SettingsError, match="is 'nope' a stack name"):
        load_stack(StackSettings, "nope", project, environ={})


def test_merge_keeps_defaults_beside_the_stacks_keys() -> None:
    defaults = {"a": 1, "nested": {"x": 1, "y": 2}, "list": [1, 2]}
    merged = merge(defaults, {"nested": {"y": 3}, "list": [9]})
    assert merged == {"a": 1, "nested": {"x": 1, "y": 3}, "list": [9]}
    assert merge(defaults, None) == defaults


def test_a_two_word_section_is_overridden_too() -> None:
    env = {"RTAP_KAFKA_CLUSTER__BROKERS": "9", "RTAP_SERVING_DEPLOYMENT__MIN_REPLICAS": "3"}
    settings = load_stack(StackSettings, "prod", PROJECT, environ=env)
    assert settings.kafka_cluster.brokers == 9
    assert settings.serving_deployment.min_replicas == 3


def test_a_deployment_section_the_stack_leaves_out_comes_from_pulumi_yaml() -> None:
    # The local stack sets no cluster section: the whole of it is Pulumi.yaml's default.
    settings = load_stack(StackSettings, "local", PROJECT, environ={})
    assert settings.cluster.mode == "eks"
    assert settings.kafka_cluster.operator_chart_version


def test_a_rule_broken_by_an_environment_variable_names_the_variable() -> None:
    # The local stack has one replica; the rule across the section's keys names the cause.
    with pytest.raises(SettingsError) as caught:
        load_stack(
            StackSettings, "local", PROJECT, environ={"RTAP_KAFKA__MIN_INSYNC_REPLICAS": "2"}
        )
    (problem,) = caught.value.problems
    assert "minInsyncReplicas (2) cannot exceed replicationFactor (1)" in problem
    assert problem.endswith("with environment variable RTAP_KAFKA__MIN_INSYNC_REPLICAS")


def test_a_bad_default_is_not_blamed_on_the_stack_file(tmp_path: Path) -> None:
    project = _stack(tmp_path, "config:\n  rtap:environment: t\n")
    pulumi_yaml = (project / "Pulumi.yaml").read_text().replace("region: us-east-1", "region: 5")
    (project / "Pulumi.yaml").write_text(pulumi_yaml)
    with pytest.raises(SettingsError) as caught:
        load_stack(StackSettings, "t", project, environ={})
    (problem,) = caught.value.problems
    assert problem.startswith("rtap:network.region:")
    assert "from its default in Pulumi.yaml" in problem
