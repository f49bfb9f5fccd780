"""eks mode: Karpenter, which makes spark nodes for executors the node groups cannot hold.

Nothing scales the managed node groups: they keep the sizes the stack gives them, which
suits Kafka and ClickHouse, whose volumes tie each pod to a zone and whose sizes change
by decision. Spark executors come and go (the driver's lag scaler), so a
Karpenter NodePool with the spark role's label and taint adds nodes for executors left
Pending, in the stack's zones, up to `rtap:cluster.sparkNodePool`'s limits, and removes
a node once it has stood empty for `consolidateAfter`. Empty only: consolidating a node
that still runs executors would kill them in the middle of a batch.

The controller runs on the general node group (never on a node it made), with an IRSA
role whose policy is upstream's (karpenter_iam.py), and an SQS queue that EventBridge
fills with spot interruptions, rebalance recommendations, scheduled maintenance and
instance state changes, so that it drains a node before AWS takes it away.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.components import karpenter_iam
from infra.components.eks import EksCluster
from infra.settings import NodePoolSettings

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
CHART = "oci://public.ecr.aws/karpenter/karpenter"
CRDS = "karpenter"
NODE_CLASS = "rtap"
SPARK_POOL = "spark"


@dataclass(frozen=True)
class KarpenterArgs:
    """rtap:cluster's Karpenter chart and spark pool, and the cluster it makes nodes for."""

    chart_version: str
    pool: NodePoolSettings
    zones: list[str]
    region: str
    cluster_name: str
    # Its control plane, node role and IRSA roles.
    eks: EksCluster
    subnet_ids: list[pulumi.Output[str]]


class Karpenter(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rtap:cluster:Karpenter", name, None, opts)
        self._args = args
        on_aws = pulumi.ResourceOptions(parent=self)
        queue = self._interruption_queue(on_aws)
        account = args.eks.cluster.arn.apply(lambda arn: arn.split(":")[4])
        policy = pulumi.Output.all(account, args.eks.node_role.arn, queue.arn).apply(
            lambda v: karpenter_iam.controller_policy(
                region=args.region,
                account=v[0],
                cluster=args.cluster_name,
                node_role_arn=v[1],
                queue_arn=v[2],
            )
        )
        role = args.eks.irsa_role("karpenter", NAMESPACE, SERVICE_ACCOUNT, inline_policy=policy)
        self.release = kube.operator_release(
            "karpenter",
            kube.Chart(CHART, None, args.chart_version, CRDS),
            NAMESPACE,
            _values(args.cluster_name, queue.name, role.arn),
            self,
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        node_class = self._node_class(after)
        self.pool = kube.custom_resource(
            f"karpenter-pool-{SPARK_POOL}",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": SPARK_POOL, "labels": kube.labels(SPARK_POOL, "node-pool")},
            spec=spark_pool_spec(args.pool, args.zones),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node_class]),
        )
        self.register_outputs({"interruptionQueue": queue.name})

    def _interruption_queue(self, opts: pulumi.ResourceOptions) -> aws.sqs.Queue:
        queue = aws.sqs.Queue(
            "karpenter-interruptions",
            name=self._args.cluster_name,
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=opts,
        )
        aws.sqs.QueuePolicy(
            "karpenter-interruptions",
            queue_url=queue.url,
            policy=queue.arn.apply(karpenter_iam.queue_policy),
            opts=opts,
        )
        for event in karpenter_iam.INTERRUPTION_EVENTS:
            rule = aws.cloudwatch.EventRule(
                f"karpenter-{event}",
                event_pattern=karpenter_iam.event_pattern(event),
                opts=opts,
            )
            aws.cloudwatch.EventTarget(
                f"karpenter-{event}", rule=rule.name, arn=queue.arn, opts=opts
            )
        return queue

    def _node_class(self, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        args = self._args
        pool = args.pool
        return kube.custom_resource(
            f"karpenter-node-class-{NODE_CLASS}",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": NODE_CLASS, "labels": kube.labels(NODE_CLASS, "node-class")},
            spec={
                "role": args.eks.node_role.name,
                "amiSelectorTerms": [{"alias": pool.ami_alias}],
                "subnetSelectorTerms": [{"id": subnet} for subnet in args.subnet_ids],
                # The cluster's own security group, which the managed nodes have too.
                "securityGroupSelectorTerms": [
                    {"id": args.eks.cluster.vpc_config.cluster_security_group_id}
                ],
                "blockDeviceMappings": [
                    {
                        "deviceName": "/dev/xvda",
                        "ebs": {
                            "volumeSize": f"{pool.disk_gib}Gi",
                            "volumeType": "gp3",
                            "encrypted": True,
                            "deleteOnTermination": True,
                        },
                    }
                ],
                # Pods reach AWS through IRSA, never through the node's metadata service.
                "metadataOptions": {
                    "httpEndpoint": "enabled",
                    "httpProtocolIPv6": "disabled",
                    "httpPutResponseHopLimit": 1,
                    "httpTokens": "required",
                },
            },
            opts=opts,
        )


def spark_pool_spec(pool: NodePoolSettings, zones: list[str]) -> kube.Json:
    """Nodes like the spark node groups' (label, taint), in the stack's zones."""
    return {
        "template": {
            "metadata": {"labels": {kube.ROLE_LABEL: SPARK_POOL}},
            "spec": {
                "nodeClassRef": {
                    "group": "karpenter.k8s.aws",
                    "kind": "EC2NodeClass",
                    "name": NODE_CLASS,
                },
                "requirements": [
                    {"key": kube.ZONE_LABEL, "operator": "In", "values": list(zones)},
                    {
                        "key": "node.kubernetes.io/instance-type",
                        "operator": "In",
                        "values": list(pool.instance_types),
                    },
                    {
                        "key": "karpenter.sh/capacity-type",
                        "operator": "In",
                        "values": list(pool.capacity_types),
                    },
                ],
                "taints": [{"key": kube.ROLE_LABEL, "value": SPARK_POOL, "effect": "NoSchedule"}],
                "expireAfter": "720h",
            },
        },
        "limits": {"cpu": str(pool.cpu_limit), "memory": pool.memory_limit},
        "disruption": {
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": pool.consolidate_after,
            # At most one node at a time goes for drift or expiry.
            "budgets": [{"nodes": "1"}],
        },
    }


def _values(
    cluster_name: str, queue: pulumi.Output[str], role_arn: pulumi.Output[str]
) -> kube.Json:
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue},
        "serviceAccount": {
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "replicas": 2,
        "controller": {"resources": kube.size("1", "1Gi", "1", "1Gi")},
        # On the managed general nodes: never on a node Karpenter itself made.
        "nodeSelector": {"kubernetes.io/os": "linux", kube.ROLE_LABEL: "general"},
    }
