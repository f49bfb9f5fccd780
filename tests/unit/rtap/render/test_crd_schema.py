"""The CRD-to-JSON-schema conversion, and the Spark operator schemas it made."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.stack_config import project_defaults
from rtap.render.crd_schema import as_file_text, closed, main, schemas_of
from rtap.render.program import Rendered
from rtap.render.validate import VENDORED_SCHEMAS, validate
from tests.unit.infra.conftest import PROJECT, listed_and_present_digests, of_kind

UPSTREAM_CRDS = PROJECT / "infra" / "upstream-crds"


def _pinned_spark_operator() -> str:
    spark: dict[str, str] = project_defaults(PROJECT / "Pulumi.yaml")["spark"]
    return spark["operatorChartVersion"]


def test_nested_objects_are_closed_and_the_root_stays_open() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "items": {"type": "array", "items": {"type": "object", "properties": {}}},
        },
    }
    result = closed(schema)
    assert "additionalProperties" not in result
    assert result["properties"]["spec"]["additionalProperties"] is False
    assert result["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert result["properties"]["items"]["items"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["spec"], "input left as it was"


def test_the_upstream_crds_are_unedited_copies() -> None:
    listed, present = listed_and_present_digests(UPSTREAM_CRDS, "*.yaml")
    assert present == listed and present


# The groups whose schemas are made from the pinned release's CRDs (not the catalogue's):
# group -> (the CRDs' folder in infra/upstream-crds, the stack key that pins it).
PINNED_CONVERSIONS = {
    "sparkoperator.k8s.io": ("spark-operator", ("spark", "operatorChartVersion")),
    "autoscaling.k8s.io": ("vertical-pod-autoscaler", ("autoscaling", "vpaChartVersion")),
}


@pytest.mark.parametrize("group", sorted(PINNED_CONVERSIONS))
def test_these_schemas_are_made_from_the_pinned_releases_crds(group: str) -> None:
    operator, (section, key) = PINNED_CONVERSIONS[group]
    version = project_defaults(PROJECT / "Pulumi.yaml")[section][key]
    folder = UPSTREAM_CRDS / f"{operator}-{version}"
    assert folder.is_dir(), f"vendor the CRDs of the pinned {operator} into {folder}"
    made = {
        name: schema
        for crd_file in sorted(folder.glob("*.yaml"))
        for name, schema in schemas_of(crd_file)
    }
    vendored = sorted(VENDORED_SCHEMAS.glob(f"{group}/*.json"))
    assert vendored
    for path in vendored:
        name = str(path.relative_to(VENDORED_SCHEMAS))
        assert path.read_text() == as_file_text(made[name]), f"{name} is not the pinned CRD's"


def test_a_field_only_the_new_release_has_is_accepted(rendered: Callable[[str], Rendered]) -> None:
    (application,) = copy.deepcopy(of_kind(rendered("prod"), "SparkApplication"))
    assert validate(application, "1.33") == []
    # `suspend` came after 2.2.1, whose schema (closed like this one) refused it.
    application["spec"]["suspend"] = True
    assert validate(application, "1.33") == []
    application["spec"]["suspended"] = True
    (error,) = validate(application, "1.33")
    assert "'suspended' was unexpected" in error


def test_the_command_writes_one_file_per_served_version(tmp_path: Path) -> None:
    crd = UPSTREAM_CRDS / f"spark-operator-{_pinned_spark_operator()}"
    main([str(crd / "sparkoperator.k8s.io_sparkconnects.yaml"), "--out", str(tmp_path)])
    (written,) = tmp_path.rglob("*.json")
    assert (
        written.relative_to(tmp_path).as_posix()
        == "sparkoperator.k8s.io/sparkconnect_v1alpha1.json"
    )
    assert '"additionalProperties": false' in written.read_text()


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_pins_an_operator_whose_crds_are_vendored(stack: str) -> None:
    config = yaml.safe_load((PROJECT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    pinned = config.get("rtap:spark", {}).get("operatorChartVersion", _pinned_spark_operator())
    assert (UPSTREAM_CRDS / f"spark-operator-{pinned}").is_dir()
