"""EKS (infra/components/eks.py): node groups per zone and role, IRSA roles."""

from __future__ import annotations

import json

from tests.unit.infra.conftest import Render, aws_declared, of_kind


def test_eks_has_a_node_group_per_zone_and_role_with_taints(rendered: Render) -> None:
    groups = [(n, i) for t, n, i in rendered("prod").raw if t == "aws:eks/nodeGroup:NodeGroup"]
    assert len(groups) == 4 * 3
    for name, inputs in groups:
        role = inputs["labels"]["rtap.dev/role"]
        assert name.startswith(role)
        assert len(inputs["subnetIds"]) == 1
        assert bool(inputs.get("taints")) == (role != "general"), name
    addons = {i["addonName"] for t, _, i in rendered("prod").raw if t == "aws:eks/addon:Addon"}
    assert {"vpc-cni", "coredns", "aws-ebs-csi-driver"} <= addons
    roles = [
        n
        for t, n in aws_declared(rendered("prod"))
        if t == "aws:iam/role:Role" and n.startswith("irsa-")
    ]
    assert sorted(roles) == [
        "irsa-ebs-csi",
        "irsa-karpenter",
        "irsa-load-balancer-controller",
        "irsa-spark",
    ]
    (storage,) = of_kind(rendered("prod"), "StorageClass")
    assert storage["parameters"]["type"] == "gp3"


def test_irsa_roles_trust_one_service_account_each(rendered: Render) -> None:
    trusts = {
        n: json.loads(i["assumeRolePolicy"])
        for t, n, i in rendered("prod").raw
        if t == "aws:iam/role:Role" and n.startswith("irsa-")
    }
    spark = trusts["irsa-spark"]["Statement"][0]
    (condition,) = spark["Condition"].values()
    subjects = [v for k, v in condition.items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:rtap:spark"]
    assert spark["Action"] == "sts:AssumeRoleWithWebIdentity"
    policy = next(
        json.loads(i["policy"])
        for t, n, i in rendered("prod").raw
        if t == "aws:iam/rolePolicy:RolePolicy" and n == "irsa-spark"
    )
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }


def test_nothing_reaches_the_cluster_before_its_nodes_and_add_ons(rendered: Render) -> None:
    graph = {node.ref: node for node in rendered("prod").graph}
    provider = graph[("pulumi:providers:kubernetes", "eks")]
    needs = set(provider.depends_on)
    node_groups = {ref for ref in graph if ref[0] == "aws:eks/nodeGroup:NodeGroup"}
    addons = {ref for ref in graph if ref[0] == "aws:eks/addon:Addon"}
    assert len(node_groups) == 12 and len(addons) == 4
    assert node_groups | addons <= needs
