"""eks mode's Ingress controller (infra/components/load_balancer.py): the AWS Load
Balancer Controller with upstream's IAM policy, and the API's Ingress it serves."""

from __future__ import annotations

import hashlib
import json

from infra.components.load_balancer import NAME, POLICY_FILE
from infra.manifests import MANIFESTS
from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, Render, of_kind, with_changes

# `git rev-parse v3.5.0:docs/install/iam_policy.json`, kubernetes-sigs/aws-load-balancer-controller
UPSTREAM_POLICY_BLOB = "761d0e733c41089c91ea009dd29faf71918085e5"
RELEASE = "kubernetes:helm.sh/v3:Release"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
CONTROLLER = "rtap:cluster:LoadBalancerController"


def test_the_iam_policy_is_upstreams_file_byte_for_byte() -> None:
    content = (MANIFESTS / POLICY_FILE).read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324
    assert blob == UPSTREAM_POLICY_BLOB


def test_the_controller_runs_as_a_role_only_its_service_account_assumes(rendered: Render) -> None:
    result = rendered("prod")
    (role,) = [
        i for t, n, i in result.raw if n == "irsa-load-balancer-controller" and "role:Role" in t
    ]
    (condition,) = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"].values()
    subjects = [v for k, v in condition.items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:kube-system:{NAME}"]
    (policy,) = [
        i for t, n, i in result.raw if n == "irsa-load-balancer-controller" and "RolePolicy" in t
    ]
    assert json.loads(policy["policy"]) == json.loads((MANIFESTS / POLICY_FILE).read_text())
    (release,) = [r for r in result.helm_releases if r["name"] == NAME]
    values = release["values"]
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        "irsa-load-balancer-controller"
    )
    assert values["clusterName"] == "rtap-prod" and values["region"] == "us-east-1"
    # Off: its webhook would fail every new Service in the cluster while the controller is down.
    assert values["enableServiceMutatorWebhook"] is False
    assert release["skipCrds"] is True


def test_the_api_ingress_is_https_through_the_controller_and_waits_for_it(
    rendered: Render,
) -> None:
    result = rendered("prod")
    (release,) = [r for r in result.helm_releases if r["name"] == NAME]
    (ingress,) = of_kind(result, "Ingress")
    assert ingress["spec"]["ingressClassName"] == release["values"]["ingressClass"] == "alb"
    host = result.settings.serving_deployment.host
    assert ingress["spec"]["tls"] == [{"hosts": [host]}]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    (node,) = [n for n in result.graph if n.ref == (INGRESS, "rtap-api")]
    assert (CONTROLLER, "load-balancer-controller") in node.depends_on


def test_an_existing_cluster_gets_no_controller_and_keeps_its_own_class() -> None:
    config = with_changes(
        "dev",
        cluster={"mode": "existing", "context": "kind-rtap", "ingressClass": "traefik"},
        spark={"checkpointUri": "s3a://rtap-checkpoints/dev"},
    )
    result = render(PROJECT, "dev", config)
    assert [r["name"] for r in result.helm_releases if r["name"] == NAME] == []
    (ingress,) = of_kind(result, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert not ingress["metadata"].get("annotations")
