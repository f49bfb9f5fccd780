"""EKS: control plane, managed node groups per zone and role, add-ons, OIDC and IRSA.

Node groups are one per (role, zone), so a zone's loss takes one group of each role;
they keep the sizes the stack gives them. kafka, clickhouse and spark nodes are tainted
for their role; general nodes take everything else. Spark executors that do not fit the
spark groups get nodes from Karpenter (karpenter.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components import iam
from infra.components import k8s as kube
from infra.components.network import Network
from infra.components.spark import SERVICE_ACCOUNT as SPARK_SERVICE_ACCOUNT
from infra.settings import ClusterSettings

ADDONS = ("vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver")
_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)


@dataclass(frozen=True)
class EksArgs:
    """rtap:cluster (version, zones, node groups, storage class, the platform's namespace),
    the region of rtap:network, and the VPC the cluster runs in."""

    cluster: ClusterSettings
    region: str
    cluster_name: str
    network: Network


class EksCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: EksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:cluster:EksCluster", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        storage_class = args.cluster.storage_class
        self.cluster = self._control_plane(child)
        self.oidc = aws.iam.OpenIdConnectProvider(
            "oidc",
            url=self.cluster.identities[0].oidcs[0].issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )
        self.node_groups = self._node_groups(child)
        self.addons = self._addons(child)
        # Everything on the cluster goes through this provider: it waits until nodes can
        # run pods and the add-ons (CNI, DNS, EBS volumes) are there, not only for the
        # control plane its kubeconfig comes from.
        self.provider = k8s.Provider(
            "eks",
            kubeconfig=self._kubeconfig(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.node_groups, *self.addons]),
        )
        self.checkpoint_uri, self.spark_role_arn = self._checkpoints(child)
        k8s.storage.v1.StorageClass(
            storage_class,
            metadata={
                "name": storage_class,
                "labels": kube.labels("storage", "storage"),
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Retain",
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "checkpointUri": self.checkpoint_uri,
            }
        )

    def _control_plane(self, child: pulumi.ResourceOptions) -> aws.eks.Cluster:
        """The control plane, reachable from the VPC and (authenticated) from outside."""
        args = self._args
        control_role = aws.iam.Role(
            "control-plane", assume_role_policy=iam.service_trust("eks.amazonaws.com"), opts=child
        )
        aws.iam.RolePolicyAttachment(
            "control-plane",
            role=control_role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        subnets = [sn.id for sn in args.network.private_subnets + args.network.public_subnets]
        return aws.eks.Cluster(
            "eks",
            name=args.cluster_name,
            version=args.cluster.kubernetes_version,
            role_arn=control_role.arn,
            vpc_config={
                "subnet_ids": subnets,
                "endpoint_private_access": True,
                "endpoint_public_access": True,
            },
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            opts=child,
        )

    def _node_groups(self, child: pulumi.ResourceOptions) -> list[aws.eks.NodeGroup]:
        cluster = self._args.cluster
        # Karpenter's nodes take the same role: EKS gave it its access entry with the
        # first managed node group, and an IAM role may have only one.
        node_role = self.node_role = aws.iam.Role(
            "nodes", assume_role_policy=iam.service_trust("ec2.amazonaws.com"), opts=child
        )
        for index, policy in enumerate(_NODE_POLICIES):
            aws.iam.RolePolicyAttachment(
                f"nodes-{index}", role=node_role.name, policy_arn=policy, opts=child
            )
        groups = []
        for role, group in cluster.node_groups.model_dump().items():
            taints = (
                []
                if role == "general"
                else [{"key": kube.ROLE_LABEL, "value": role, "effect": "NO_SCHEDULE"}]
            )
            for zone, subnet in zip(cluster.zones, self._args.network.private_subnets, strict=True):
                groups.append(
                    aws.eks.NodeGroup(
                        f"{role}-{zone}",
                        cluster_name=self.cluster.name,
                        node_role_arn=node_role.arn,
                        subnet_ids=[subnet.id],
                        instance_types=[group["instance_type"]],
                        disk_size=group["disk_gib"],
                        scaling_config={
                            "min_size": group["min_per_zone"],
                            "desired_size": group["desired_per_zone"],
                            "max_size": group["max_per_zone"],
                        },
                        labels={kube.ROLE_LABEL: role},
                        taints=taints,
                        update_config={"max_unavailable": 1},
                        tags={f"k8s.io/cluster-autoscaler/{self._args.cluster_name}": "owned"},
                        opts=child,
                    )
                )
        return groups

    def _addons(self, child: pulumi.ResourceOptions) -> list[aws.eks.Addon]:
        csi_role = self.irsa_role(
            "ebs-csi",
            "kube-system",
            "ebs-csi-controller-sa",
            managed_policy="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
        )
        addons = []
        for addon in ADDONS:
            addons.append(
                aws.eks.Addon(
                    addon,
                    cluster_name=self.cluster.name,
                    addon_name=addon,
                    resolve_conflicts_on_update="OVERWRITE",
                    service_account_role_arn=csi_role.arn
                    if addon == "aws-ebs-csi-driver"
                    else None,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=self.node_groups),
                )
            )
        return addons

    def irsa_role(
        self,
        name: str,
        namespace: str,
        service_account: str,
        *,
        managed_policy: str | None = None,
        inline_policy: pulumi.Input[str] | None = None,
    ) -> aws.iam.Role:
        """A role only `namespace/service_account` can assume, through the cluster's OIDC."""
        trust = pulumi.Output.all(self.oidc.arn, self.cluster.identities[0].oidcs[0].issuer).apply(
            lambda v: iam.web_identity_trust(v[0], v[1], namespace, service_account)
        )
        role = aws.iam.Role(
            f"irsa-{name}", assume_role_policy=trust, opts=pulumi.ResourceOptions(parent=self)
        )
        if managed_policy:
            aws.iam.RolePolicyAttachment(
                f"irsa-{name}",
                role=role.name,
                policy_arn=managed_policy,
                opts=pulumi.ResourceOptions(parent=self),
            )
        if inline_policy is not None:
            aws.iam.RolePolicy(
                f"irsa-{name}",
                role=role.id,
                policy=inline_policy,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return role

    def _checkpoints(
        self, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """An encrypted, private bucket for Spark checkpoints, and the job's role on it."""
        bucket = aws.s3.Bucket("checkpoints", force_destroy=False, opts=child)
        aws.s3.BucketPublicAccessBlock(
            "checkpoints",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "checkpoints",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}],
            opts=child,
        )
        policy = bucket.arn.apply(iam.bucket_read_write)
        namespace = self._args.cluster.namespace
        role = self.irsa_role("spark", namespace, SPARK_SERVICE_ACCOUNT, inline_policy=policy)
        return pulumi.Output.concat("s3a://", bucket.bucket), role.arn

    def _kubeconfig(self) -> pulumi.Output[str]:
        region = self._args.region
        return pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data
        ).apply(lambda v: iam.eks_kubeconfig(v[0], v[1], v[2], region))
