"""Schema checks of rendered objects, and the CRD schemas they use."""

from __future__ import annotations

import filecmp

import pytest

from rtap.render.validate import VENDORED_SCHEMAS, validate
from tests.unit.infra.conftest import PROJECT, listed_and_present_digests

SHARED_SCHEMAS = PROJECT.parent / "shared" / "crd-schemas"
# Made from the CRDs of the releases rtap pins (test_crd_schema.py holds them); ../shared
# has older ones: spark-operator 2.2.1's, and a catalogue copy of an older VPA's.
PINNED_GROUPS = ["sparkoperator.k8s.io", "autoscaling.k8s.io"]


def test_a_misspelt_builtin_field_and_an_unknown_kind_are_errors() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "rtap"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [{"name": "api", "imagee": "x:1"}]}},
        },
    }
    (error,) = validate(deployment, "1.33")
    assert error.startswith("Deployment rtap/api: spec.template.spec.containers[0]:")
    assert "'imagee' was unexpected" in error
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    (error,) = validate(widget, "1.33")
    assert "unknown kind Widget" in error


def test_the_vendored_crd_schemas_are_unedited_copies() -> None:
    # SHA256SUMS was written when the schemas were copied from ../shared/crd-schemas.
    listed, present = listed_and_present_digests(VENDORED_SCHEMAS, "*.json")
    assert len(present) >= 25
    assert present == listed


def test_the_vendored_crd_schemas_are_the_shared_ones() -> None:
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip(f"no {SHARED_SCHEMAS} beside this checkout to compare with")
    # The README says which groups are made from the pinned releases' CRDs.
    comparison = filecmp.dircmp(
        VENDORED_SCHEMAS, SHARED_SCHEMAS, ignore=["SHA256SUMS", "README.md", *PINNED_GROUPS]
    )
    assert not comparison.left_only and not comparison.right_only and not comparison.diff_files
    assert len(comparison.subdirs) >= 8
    for sub in comparison.subdirs.values():
        assert not sub.left_only and not sub.right_only and not sub.diff_files
