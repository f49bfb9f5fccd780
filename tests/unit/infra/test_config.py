"""Stack config: defaults from Pulumi.yaml, key-by-key merging, and errors that name the
key before a single resource is declared."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from core.settings import section_keys
from core.stack_config import load_stack, merge, project_defaults
from infra.settings import StackSettings
from rtap.render.program import RenderError, render
from tests.unit.infra.conftest import PROJECT, STACKS, with_changes
from workloads.settings import WorkloadSettings


def _refused(stack: str, **sections: dict[str, Any] | str) -> RenderError:
    with pytest.raises(RenderError) as caught:
        render(PROJECT, stack, with_changes(stack, **sections))
    assert caught.value.declared == 0, "config errors must come before any resource"
    return caught.value


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"cluster": {"zones": ["us-east-1a", "us-east-1b"]}}, "rtap:cluster.zones"),
        (
            {"kafka": {"replicationFactor": 2, "minInsyncReplicas": 2}},
            "rtap:kafka.replicationFactor",
        ),
        (
            {"cluster": {"nodeGroups": {"kafka": {"instanceType": "r6i-xlarge"}}}},
            "rtap:cluster.nodeGroups.kafka.instanceType",
        ),
        ({"images": {"serving": "ghcr.io/rtap-dev/rtap-serving"}}, "rtap:images.serving"),
        ({"images": {"producer": "ghcr.io/rtap-dev/rtap-producer:latest"}}, "rtap:images.producer"),
        ({"kafkaCluster": {"brokers": 2}}, "rtap:kafkaCluster.brokers"),
        ({"clickhouseCluster": {"replicas": 4}}, "rtap:clickhouseCluster.replicas"),
        ({"clickhouseCluster": {"keeperReplicas": 2}}, "rtap:clickhouseCluster.keeperReplicas"),
        ({"network": {"natGateways": "single"}}, "rtap:network.natGateways"),
        ({"network": {"vpcCidr": "10.0.0.0/24"}}, "rtap:network.vpcCidr"),
        ({"kafkaCluster": {"brokerz": 6}}, "rtap:kafkaCluster.brokerz"),
        ({"kafkaClster": {"brokers": 6}}, "rtap:kafkaClster"),
        ({"redis": {"replicas": 1}}, "rtap:redis.replicas"),
        ({"loadtest": {"workers": 0}}, "rtap:loadtest.workers"),
        ({"loadtest": {"run": "Run 2"}}, "rtap:loadtest.run"),
        ({"loadtest": {"shape": "ramp", "viewers": 2, "workers": 4}}, "rtap:loadtest"),
        ({"images": {"loadtest": "ghcr.io/rtap-dev/rtap-loadtest:latest"}}, "rtap:images.loadtest"),
        # 2.2.1 submits with Spark 3.5, and the job is Spark 4.
        ({"spark": {"operatorChartVersion": "2.2.1"}}, "rtap:spark.operatorChartVersion"),
        # The program declares the operator's CRDs, and rtap has none of this release.
        (
            {"clickhouseCluster": {"operatorChartVersion": "0.25.9"}},
            "rtap:clickhouseCluster.operatorChartVersion",
        ),
        (
            {"cluster": {"loadBalancerControllerChartVersion": "3.9.0"}},
            "rtap:cluster.loadBalancerControllerChartVersion",
        ),
        ({"redis": {"image": "docker.io/valkey/valkey"}}, "rtap:redis.image"),
        # Bitnami's versioned tags moved to a frozen repository: they no longer update.
        (
            {"redis": {"exporterImage": "docker.io/bitnami/redis-exporter:1.76.0"}},
            "rtap:redis.exporterImage",
        ),
        ({"redis": {"chartVersion": "22.0.7"}}, "rtap:redis.chartVersion"),
    ],
)
def test_bad_prod_config_names_the_key(change: dict[str, Any], key: str) -> None:
    # Nested mappings given here replace the stack's section keys one level deep.
    sections = {}
    for section, value in change.items():
        current = yaml.safe_load((PROJECT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
        base = current.get(f"rtap:{section}", {})
        merged = merge(base, value) if isinstance(value, dict) else value
        sections[section] = merged
    error = _refused("prod", **sections)
    assert key in str(error), str(error)


def test_dev_may_have_fewer_zones_than_prod_but_replicas_need_their_own() -> None:
    one_zone = {"zones": ["us-east-1a"]}
    error = _refused("staging", cluster=one_zone)
    keys = [line.strip().split(":")[1] for line in str(error).splitlines()[1:]]
    assert "clickhouseCluster.replicas" in keys
    assert "cluster.zones" not in keys, "only prod needs three zones"


def test_existing_cluster_needs_a_checkpoint_location() -> None:
    error = _refused("dev", cluster={"mode": "existing", "context": "kind-rtap"})
    assert "rtap:spark.checkpointUri" in str(error)


def test_every_section_is_declared_once_in_pulumi_yaml_with_a_description() -> None:
    declared = yaml.safe_load((PROJECT / "Pulumi.yaml").read_text())["config"]
    fields = set(section_keys(StackSettings))
    assert {k.removeprefix("rtap:") for k in declared} == fields
    for key, spec in declared.items():
        # What Pulumi's project schema allows in a config declaration.
        assert set(spec) <= {"type", "description", "default", "secret", "items"}, key
        assert spec["type"] in {"string", "integer", "boolean", "array", "object"}, key
        assert spec.get("description"), key
        if spec["type"] == "object":
            assert isinstance(spec["default"], dict), key


def test_deployment_sections_have_complete_defaults_in_pulumi_yaml() -> None:
    defaults = project_defaults(PROJECT / "Pulumi.yaml")
    deployment_only = set(section_keys(StackSettings)) - set(section_keys(WorkloadSettings))
    assert {"cluster", "network", "images", "kafkaCluster"} <= deployment_only
    for name, field in StackSettings.model_fields.items():
        if (field.alias or name) in deployment_only:
            assert field.annotation is not None
            # The default alone is a valid section: a stack may leave it out entirely.
            field.annotation.model_validate(defaults[field.alias or name])


@pytest.mark.parametrize("stack", STACKS)
def test_the_local_platform_reads_deployed_stacks_too(stack: str) -> None:
    # Load tests and drills read a deployed stack's sla and topics through the one loader.
    settings = load_stack(StackSettings, stack, PROJECT, environ={})
    assert settings.environment == stack
    assert settings.sla.freshness_p95_seconds > 0


def _secret_like_keys(value: Any, path: str = "") -> list[str]:
    """Keys named like credentials whose value is not a Pulumi `secure:` ciphertext."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if re.search(r"password|secret|token|apikey|credential", str(key), re.I) and not (
                isinstance(item, dict) and set(item) == {"secure"}
            ):
                found.append(here)
            found += _secret_like_keys(item, here)
    return found


@pytest.mark.parametrize("stack", [*STACKS, "local"])
def test_stack_files_hold_no_plaintext_secret(stack: str) -> None:
    document = yaml.safe_load((PROJECT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    assert _secret_like_keys(document) == []
    assert _secret_like_keys({"db": {"password": "x"}}) == ["db.password"]
    assert _secret_like_keys({"db": {"password": {"secure": "v1:abc"}}}) == []
