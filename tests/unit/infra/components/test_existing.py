"""A cluster the user already has (infra/components/existing.py)."""

from __future__ import annotations

from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, aws_declared, of_kind, render_once, with_changes


def test_existing_cluster_mode_creates_no_aws_resource() -> None:
    config = with_changes(
        "dev",
        cluster={
            "mode": "existing",
            "context": "kind-rtap",
            "kubeconfig": "/home/ops/.kube/kind.yaml",
        },
        spark={"checkpointUri": "s3a://rtap-checkpoints/dev"},
    )
    result = render(PROJECT, "dev", config)
    assert aws_declared(result) == []
    providers = [i for t, _, i in result.raw if t == "pulumi:providers:kubernetes"]
    assert [(p["kubeconfig"], p["context"]) for p in providers] == [
        ("/home/ops/.kube/kind.yaml", "kind-rtap")
    ]
    (app,) = of_kind(result, "SparkApplication")
    env = {e["name"]: e.get("value") for e in app["spec"]["driver"]["env"]}
    assert env["RTAP_CHECKPOINT_URI"] == "s3a://rtap-checkpoints/dev"
    # Nodes of a cluster rtap did not build carry no rtap role labels to select.
    assert app["spec"]["driver"]["nodeSelector"] == {}
    (prod_app,) = of_kind(render_once("prod"), "SparkApplication")
    assert prod_app["spec"]["driver"]["nodeSelector"] == {"rtap.dev/role": "spark"}
