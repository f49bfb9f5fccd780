"""A cluster the user already has (EKS, GKE, kind, k3d…): a provider, no AWS resources."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.settings import ClusterSettings


@dataclass(frozen=True)
class ExistingClusterArgs:
    """rtap:cluster (kubeconfig and context) and where checkpoints go (rtap:spark)."""

    cluster: ClusterSettings
    checkpoint_uri: str


class ExistingCluster(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rtap:cluster:ExistingCluster", name, None, opts)
        c = args.cluster
        self.provider = k8s.Provider(
            "existing",
            kubeconfig=os.path.expanduser(c.kubeconfig),
            context=c.context or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Checkpoints go where the stack says; S3 credentials are the cluster's business.
        self.checkpoint_uri: pulumi.Output[str] = pulumi.Output.from_input(args.checkpoint_uri)
        self.spark_role_arn: pulumi.Output[str] | None = None
        self.register_outputs({"context": c.context, "checkpointUri": self.checkpoint_uri})
