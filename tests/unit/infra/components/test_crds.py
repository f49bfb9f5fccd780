"""The operators' CRDs are the program's, so an operator upgrade upgrades them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.components import crds
from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, STACKS, Render, of_kind, with_changes

RELEASE = "kubernetes:helm.sh/v3:Release"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def _crd_name(manifest: dict[str, object]) -> str:
    group, kind = str(manifest["apiVersion"]).split("/")[0], str(manifest["kind"]).lower()
    plural = f"{kind}es" if kind.endswith("s") else f"{kind}s"
    return f"{plural}.{group}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_has_its_crd_declared(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    declared = {m["metadata"]["name"] for m in of_kind(result, "CustomResourceDefinition")}
    custom = [m for m in result.manifests if "." in str(m["apiVersion"]).split("/")[0]]
    kinds = {_crd_name(m) for m in custom if m["kind"] != "CustomResourceDefinition"}
    # Strimzi 10, Altinity 4, Spark 3, the load balancer controller's 4 (eks mode), the
    # Prometheus operator's 10, KEDA's 6, the VPA's 2 and Karpenter's 5 (eks mode).
    assert len(declared) == 44
    ours = {
        k
        for k in kinds
        if k.split(".", 1)[1].startswith(
            (
                "kafka.",
                "clickhouse",
                "spark",
                "elbv2",
                "monitoring",
                "keda",
                "autoscaling.k8s",
                "karpenter",
            )
        )
    }
    assert ours and ours <= declared, ours - declared


def test_every_operator_skips_its_charts_crds_and_waits_for_the_programs(
    rendered: Render,
) -> None:
    result = rendered("prod")
    operators = result.helm_releases
    assert len(operators) == 9
    assert all(r["skipCrds"] for r in operators)
    # Altinity's chart applies its CRDs from a hook Job from 0.25.6 on, unless told not to.
    (clickhouse,) = [r for r in operators if "clickhouse" in str(r["chart"])]
    assert clickhouse["values"]["crdHook"] == {"enabled": False}
    by_ref = {node.ref: node for node in result.graph}
    # metrics-server defines no CRDs; every other chart waits for its own.
    for release in (r for r in operators if r["name"] != "metrics-server"):
        waits_for = by_ref[(RELEASE, str(release["name"]))].depends_on
        assert len([ref for ref in waits_for if ref[0] == CRD]) >= 2, release["name"]
    retained = [node for node in result.graph if node.ref[0] == CRD]
    assert retained and all(node.retained_on_delete for node in retained)


def test_the_crds_are_the_pinned_releases_originals(rendered: Render) -> None:
    (kafka,) = [
        m
        for m in of_kind(rendered("prod"), "CustomResourceDefinition")
        if m["metadata"]["name"] == "kafkas.kafka.strimzi.io"
    ]
    (original,) = [
        d
        for d in crds.definitions("strimzi", "0.49.0")
        if d["metadata"]["name"] == kafka["metadata"]["name"]
    ]
    assert kafka["spec"] == original["spec"]


def test_an_operator_upgrade_changes_its_crds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A made-up Strimzi release whose Kafka CRD changed.
    for source in crds.UPSTREAM_CRDS.iterdir():
        if source.is_dir():
            shutil.copytree(source, tmp_path / source.name)
    newer = tmp_path / "strimzi-0.99.0"
    shutil.copytree(tmp_path / "strimzi-0.49.0", newer)
    kafka_crd = newer / "040-Crd-kafka.yaml"
    text = kafka_crd.read_text()
    assert "description: " in text
    kafka_crd.write_text(text.replace("description: ", "description: rtap-upgraded ", 1))
    monkeypatch.setattr(crds, "UPSTREAM_CRDS", tmp_path)
    crds.definitions.cache_clear()
    try:
        result = render(
            PROJECT, "dev", with_changes("dev", kafkaCluster={"operatorChartVersion": "0.99.0"})
        )
    finally:
        crds.definitions.cache_clear()
    (kafka,) = [
        m
        for m in of_kind(result, "CustomResourceDefinition")
        if m["metadata"]["name"] == "kafkas.kafka.strimzi.io"
    ]
    assert "rtap-upgraded" in str(kafka["spec"])
    (strimzi,) = [r for r in result.helm_releases if "strimzi" in str(r["chart"])]
    assert strimzi["version"] == "0.99.0"
