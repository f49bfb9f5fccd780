"""eks mode's node provisioning (infra/components/karpenter.py): a spark NodePool like the
spark node groups, its EC2NodeClass on the cluster's subnets and node role, and a
controller with upstream's permissions and an interruption queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.components import karpenter_iam
from infra.components.k8s import ROLE_LABEL
from infra.components.karpenter import SPARK_POOL
from rtap.render.program import RenderError, render
from tests.unit.infra.conftest import (
    PROJECT,
    STACKS,
    Render,
    of_kind,
    render_once,
    with_changes,
)

# The Sids of the v1.14.1 getting-started CloudFormation template's controller policies.
UPSTREAM_SIDS = {
    "AllowScopedEC2InstanceAccessActions",
    "AllowScopedEC2LaunchTemplateAccessActions",
    "AllowScopedEC2InstanceActionsWithTags",
    "AllowScopedResourceCreationTagging",
    "AllowScopedResourceTagging",
    "AllowScopedDeletion",
    "AllowPassingInstanceRole",
    "AllowScopedInstanceProfileCreationActions",
    "AllowScopedInstanceProfileTagActions",
    "AllowScopedInstanceProfileActions",
    "AllowAPIServerEndpointDiscovery",
    "AllowInterruptionQueueActions",
    "AllowZonalShiftStatusReadOnly",
    "AllowRegionalReadActions",
    "AllowSSMReadActions",
    "AllowPricingReadActions",
    "AllowUnscopedInstanceProfileListAction",
    "AllowInstanceProfileReadActions",
}


def _raw(result: Any, name: str, kind: str) -> dict[str, Any]:
    (inputs,) = [i for t, n, i in result.raw if n == name and t.endswith(kind)]
    return dict(inputs)


@pytest.mark.parametrize("stack", STACKS)
def test_the_spark_pool_makes_nodes_like_the_spark_node_groups(
    rendered: Render, stack: str
) -> None:
    result = rendered(stack)
    (pool,) = of_kind(result, "NodePool")
    template = pool["spec"]["template"]
    spark_group = _raw(result, f"spark-{result.settings.cluster.zones[0]}", "NodeGroup")
    assert template["metadata"]["labels"] == spark_group["labels"] == {ROLE_LABEL: SPARK_POOL}
    (taint,) = template["spec"]["taints"]
    (group_taint,) = spark_group["taints"]
    assert (taint["key"], taint["value"]) == (group_taint["key"], group_taint["value"])
    assert taint["effect"] == "NoSchedule" and group_taint["effect"] == "NO_SCHEDULE"
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    settings = result.settings.cluster
    assert requirements["topology.kubernetes.io/zone"] == settings.zones
    assert (
        requirements["node.kubernetes.io/instance-type"] == settings.spark_node_pool.instance_types
    )
    assert pool["spec"]["limits"]["cpu"] == str(settings.spark_node_pool.cpu_limit)
    # Empty nodes only: consolidating a busy node kills executors in the middle of a batch.
    assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"


def test_the_node_class_uses_the_clusters_subnets_role_and_security_group(
    rendered: Render,
) -> None:
    result = rendered("prod")
    (node_class,) = of_kind(result, "EC2NodeClass")
    spec = node_class["spec"]
    subnets = [i for t, n, i in result.raw if t == "aws:ec2/subnet:Subnet" and "private" in n]
    assert len(spec["subnetSelectorTerms"]) == len(subnets) == 3
    assert all(term["id"].startswith("subnet-") for term in spec["subnetSelectorTerms"])
    (group,) = {i["nodeRoleArn"] for t, n, i in result.raw if t.endswith("NodeGroup")}
    assert spec["role"] in group  # the managed groups' role: its access entry is there
    (sg,) = spec["securityGroupSelectorTerms"]
    assert sg["id"].startswith("sg-")
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert node_class["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"


def test_the_controller_has_upstreams_permissions_and_its_queue(rendered: Render) -> None:
    result = rendered("prod")
    (release,) = [r for r in result.helm_releases if r["name"] == "karpenter"]
    assert release["skipCrds"] is True and release["version"] == "1.14.1"
    values = release["values"]
    assert values["settings"] == {"clusterName": "rtap-prod", "interruptionQueue": "rtap-prod"}
    assert values["nodeSelector"][ROLE_LABEL] == "general"
    role = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.endswith("irsa-karpenter")
    policy_text = _raw(result, "irsa-karpenter", "RolePolicy")["policy"]
    assert len(policy_text) < 10_240  # an inline policy's limit
    statements = json.loads(policy_text)["Statement"]
    assert {s["Sid"] for s in statements} == UPSTREAM_SIDS
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"].endswith(":nodes")
    trust = json.loads(_raw(result, "irsa-karpenter", "iam/role:Role")["assumeRolePolicy"])
    (condition,) = trust["Statement"][0]["Condition"].values()
    assert "system:serviceaccount:kube-system:karpenter" in condition.values()
    rules = [i for t, n, i in result.raw if t == "aws:cloudwatch/eventRule:EventRule"]
    patterns = {json.loads(r["eventPattern"])["detail-type"][0] for r in rules}
    assert patterns == {d for _, d in karpenter_iam.INTERRUPTION_EVENTS.values()}


def test_an_existing_cluster_gets_no_karpenter() -> None:
    config = with_changes(
        "dev",
        cluster={"mode": "existing", "context": "kind-rtap"},
        spark={"checkpointUri": "s3a://rtap-checkpoints/dev"},
    )
    result = render(PROJECT, "dev", config)
    assert of_kind(result, "NodePool") == [] and of_kind(result, "EC2NodeClass") == []
    assert "karpenter" not in {r["name"] for r in result.helm_releases}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"capacityTypes": ["reserved"]}, "sparkNodePool.capacityTypes"),
        ({"instanceTypes": ["big"]}, "sparkNodePool.instanceTypes"),
        ({"amiAlias": "al2023"}, "sparkNodePool.amiAlias"),
    ],
)
def test_a_bad_pool_setting_names_its_key(change: dict[str, Any], key: str) -> None:
    pool = render_once("dev").settings.cluster.spark_node_pool.model_dump(by_alias=True)
    config = with_changes("dev", cluster={"sparkNodePool": {**pool, **change}})
    with pytest.raises(RenderError) as caught:
        render(PROJECT, "dev", config)
    assert f"rtap:cluster.{key}" in str(caught.value)
    assert caught.value.declared == 0, "config errors must come before any resource"
