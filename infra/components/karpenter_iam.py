"""What Karpenter's controller may do in AWS, and the events its interruption queue gets.

The statements are those of Karpenter's getting-started CloudFormation template at the
pinned release (website/content/en/v1.14/getting-started/getting-started-with-karpenter/
cloudformation.yaml, v1.14.1), with its Sids, written as a function of plain values:
launches and deletions are scoped to the cluster's tags, PassRole to the node role, and
the queue to this cluster's. Pure: the component applies it to its outputs.
"""

from __future__ import annotations

import json
from typing import Any

_VERSION = "2012-10-17"
# EventBridge events Karpenter drains nodes on, by source and detail-type.
INTERRUPTION_EVENTS = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": (
        "aws.ec2",
        "EC2 Capacity Reservation Instance Interruption Warning",
    ),
}


def event_pattern(name: str) -> str:
    source, detail_type = INTERRUPTION_EVENTS[name]
    return json.dumps({"source": [source], "detail-type": [detail_type]})


def controller_policy(
    *, region: str, account: str, cluster: str, node_role_arn: str, queue_arn: str
) -> str:
    """The controller's inline policy (well under the 10,240-character limit)."""
    statements = [
        *_node_lifecycle(region, cluster),
        *_instance_profiles(region, account, cluster, node_role_arn),
        *_cluster_integration(region, account, cluster, queue_arn),
        *_discovery(region, account),
    ]
    return json.dumps({"Version": _VERSION, "Statement": statements}, separators=(",", ":"))


def _node_lifecycle(region: str, cluster: str) -> list[dict[str, Any]]:
    """Launching, tagging and terminating instances and launch templates, only with the
    cluster's tags (and a NodePool's)."""
    ec2 = f"arn:aws:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    any_pool = {"StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}
    requested = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
    }
    requested_pool = {"StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    return [
        _allow(
            "AllowScopedEC2InstanceAccessActions",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
        ),
        _allow(
            "AllowScopedEC2LaunchTemplateAccessActions",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            f"{ec2}:*:launch-template/*",
            {"StringEquals": owned, **any_pool},
        ),
        _allow(
            "AllowScopedEC2InstanceActionsWithTags",
            ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            launched,
            {"StringEquals": requested, **requested_pool},
        ),
        _allow(
            "AllowScopedResourceCreationTagging",
            "ec2:CreateTags",
            launched,
            {
                "StringEquals": {
                    **requested,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                **requested_pool,
            },
        ),
        _allow(
            "AllowScopedResourceTagging",
            "ec2:CreateTags",
            f"{ec2}:*:instance/*",
            {
                "StringEquals": owned,
                **any_pool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        _allow(
            "AllowScopedDeletion",
            ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            {"StringEquals": owned, **any_pool},
        ),
    ]


def _instance_profiles(
    region: str, account: str, cluster: str, node_role_arn: str
) -> list[dict[str, Any]]:
    """Passing the node role to EC2, and the instance profiles Karpenter makes for it."""
    profile = f"arn:aws:iam::{account}:instance-profile/*"
    profile_tags = {
        f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": region,
    }
    profile_request = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
        "aws:RequestTag/topology.kubernetes.io/region": region,
    }
    return [
        _allow(
            "AllowPassingInstanceRole",
            "iam:PassRole",
            node_role_arn,
            {
                "StringEquals": {
                    "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]
                }
            },
        ),
        _allow(
            "AllowScopedInstanceProfileCreationActions",
            "iam:CreateInstanceProfile",
            profile,
            {
                "StringEquals": profile_request,
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
        _allow(
            "AllowScopedInstanceProfileTagActions",
            "iam:TagInstanceProfile",
            profile,
            {
                "StringEquals": {**profile_tags, **profile_request},
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        ),
        _allow(
            "AllowScopedInstanceProfileActions",
            [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            profile,
            {
                "StringEquals": profile_tags,
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
    ]


def _cluster_integration(
    region: str, account: str, cluster: str, queue_arn: str
) -> list[dict[str, Any]]:
    """The cluster's endpoint, its interruption queue, and its zonal-shift status."""
    return [
        _allow(
            "AllowAPIServerEndpointDiscovery",
            "eks:DescribeCluster",
            f"arn:aws:eks:{region}:{account}:cluster/{cluster}",
        ),
        _allow(
            "AllowInterruptionQueueActions",
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            queue_arn,
        ),
        _allow(
            "AllowZonalShiftStatusReadOnly",
            "arc-zonal-shift:GetManagedResource",
            "*",
            {
                "StringEquals": {
                    "arc-zonal-shift:ResourceIdentifier": (
                        f"arn:aws:eks:{region}:{account}:cluster/{cluster}"
                    )
                }
            },
        ),
    ]


def _discovery(region: str, account: str) -> list[dict[str, Any]]:
    """Reads: instance types, prices, AMIs (through SSM), subnets and security groups."""
    describes = [
        "CapacityReservations",
        "Images",
        "Instances",
        "InstanceStatus",
        "InstanceTypeOfferings",
        "InstanceTypes",
        "LaunchTemplates",
        "PlacementGroups",
        "SecurityGroups",
        "SpotPriceHistory",
        "Subnets",
    ]
    return [
        _allow(
            "AllowRegionalReadActions",
            [f"ec2:Describe{what}" for what in describes],
            "*",
            {"StringEquals": {"aws:RequestedRegion": region}},
        ),
        _allow(
            "AllowSSMReadActions",
            "ssm:GetParameter",
            f"arn:aws:ssm:{region}::parameter/aws/service/*",
        ),
        _allow("AllowPricingReadActions", "pricing:GetProducts", "*"),
        _allow("AllowUnscopedInstanceProfileListAction", "iam:ListInstanceProfiles", "*"),
        _allow(
            "AllowInstanceProfileReadActions",
            "iam:GetInstanceProfile",
            f"arn:aws:iam::{account}:instance-profile/*",
        ),
    ]


def queue_policy(queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send to the queue; nothing without TLS."""
    statements = [
        {
            "Sid": "EC2InterruptionPolicy",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    return json.dumps({"Version": _VERSION, "Statement": statements})


def _allow(
    sid: str,
    actions: str | list[str],
    resources: str | list[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement
