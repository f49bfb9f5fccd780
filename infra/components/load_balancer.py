"""eks mode: the AWS Load Balancer Controller, which turns the API's Ingress into an
Application Load Balancer, HTTPS with the host's ACM certificate.

Why this controller: ingress-nginx was retired (best-effort maintenance ended in March
2026). AWS maintains this one for EKS, it needs no proxy pods in the data path (the ALB
sends to the pods' VPC addresses, `target-type: ip`), and it finds the certificate in ACM
by the Ingress's host. A Gateway API implementation would mean a second API for one route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi

from infra.components import k8s as kube
from infra.manifests import text

NAME = "aws-load-balancer-controller"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = NAME
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
CRDS = "aws-load-balancer-controller"
# Upstream's policy for the controller's role (docs/install/iam_policy.json at the tag).
POLICY_FILE = "aws-load-balancer-controller-iam-policy.json"


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    """The chart version and Ingress class of rtap:cluster, where the cluster is."""

    chart_version: str
    ingress_class: str
    cluster_name: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    # An IRSA role for kube-system/aws-load-balancer-controller with iam_policy().
    role_arn: pulumi.Input[str]


def iam_policy() -> str:
    """Upstream's policy for the controller, minified (an inline policy holds 10,240
    characters)."""
    return json.dumps(json.loads(text(POLICY_FILE)))


def ingress_annotations() -> dict[str, str]:
    """An internet-facing ALB to the pods' addresses, HTTPS only (HTTP redirects)."""
    return {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/healthcheck-path": "/readyz",
    }


class LoadBalancerController(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: LoadBalancerControllerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rtap:cluster:LoadBalancerController", name, None, opts)
        self.release = kube.operator_release(
            NAME,
            kube.Chart(NAME, CHART_REPOSITORY, args.chart_version, CRDS),
            NAMESPACE,
            {
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "replicaCount": 2,
                "serviceAccount": {
                    "create": True,
                    "name": SERVICE_ACCOUNT,
                    "annotations": {"eks.amazonaws.com/role-arn": args.role_arn},
                },
                "ingressClass": args.ingress_class,
                "createIngressClassResource": True,
                # Its webhook would intercept every Service created in the cluster and fail
                # them while the controller is down; rtap has no Service of type LoadBalancer.
                "enableServiceMutatorWebhook": False,
                "podDisruptionBudget": {"maxUnavailable": 1},
                "topologySpreadConstraints": kube.zone_spread(
                    {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
                ),
                "resources": kube.size("100m", "256Mi", "500m", "256Mi"),
            },
            self,
        )
        self.register_outputs({"ingressClass": args.ingress_class})
