"""VerticalPodAutoscalers for the platform's workloads.

Stateful workloads get recommendations only (`updateMode: Off`): a Kafka broker's or
Keeper's JVM heap and ClickHouse's memory settings are sized from the stack file and do
not follow a pod whose requests change, and evicting a broker or a replica to resize it
costs a partition leader or a replica's catch-up. Their recommendations are read with
`kubectl describe vpa` and applied by changing the stack's sizes. Stateless workloads are
resized (`Recreate`: the updater evicts a pod, within its disruption budget, and the
admission controller gives the new one the recommended requests, limits scaled with
them), between the stack's requests as the floor and twice its limits as the ceiling:
a workload that needs more than that needs its stack sizes changed, by a person. The
API's CPU is left to KEDA, which scales it out on CPU: two autoscalers acting on the same
signal fight (the VPA docs say so), so its VPA controls memory only.

Only controllers with a /scale subresource can be targets: StatefulSets, Deployments and
Strimzi's KafkaNodePools. The ClickHouse installations have none, so their operator's
StatefulSets are the targets. The Spark job has none either: its executors are counted by
the driver's lag scaler (workloads/streaming/lag_scaler.py) and sized by `rtap:spark`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kube
from infra.sizes import Resources

API_VERSION = "autoscaling.k8s.io/v1"
# A stateless workload's requests may grow to this many times its stack limits.
CEILING_FACTOR = 2
ALL_CONTAINERS = "*"


@dataclass(frozen=True)
class VpaTarget:
    """A workload's controller, and how its VPA may act on it."""

    api_version: str
    kind: str
    name: str
    stateful: bool
    # The stack's sizes: the floor and ceiling of a stateless workload's requests.
    size: Resources | None = None
    controlled: tuple[str, ...] = ("cpu", "memory")

    def spec(self) -> kube.Json:
        policy: kube.Json = {
            "containerName": ALL_CONTAINERS,
            "controlledResources": list(self.controlled),
        }
        if self.size is not None:
            policy["minAllowed"] = _only(self.size.requests.model_dump(), self.controlled)
            policy["maxAllowed"] = {
                name: scaled(quantity, CEILING_FACTOR)
                for name, quantity in _only(self.size.limits.model_dump(), self.controlled).items()
            }
        return {
            "targetRef": {"apiVersion": self.api_version, "kind": self.kind, "name": self.name},
            "updatePolicy": {"updateMode": "Off" if self.stateful else "Recreate"},
            "resourcePolicy": {"containerPolicies": [policy]},
        }


def scaled(quantity: str, factor: int) -> str:
    """A Kubernetes quantity times a whole factor, in its own unit ("512Mi" x 2 = "1024Mi")."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", quantity)
    if match is None:
        raise ValueError(f"not a plain quantity: {quantity!r}")
    number, unit = match.groups()
    value = float(number) * factor
    return f"{int(value) if value.is_integer() else value}{unit}"


def _only(quantities: dict[str, str], resources: tuple[str, ...]) -> dict[str, str]:
    return {name: quantities[name] for name in resources}


@dataclass(frozen=True)
class VerticalScalingArgs:
    """The platform's namespace, each component's targets, and the release that brings
    the VPA's CRDs and controllers."""

    namespace: str
    targets: list[VpaTarget]
    after: pulumi.Resource


class VerticalScaling(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: VerticalScalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rtap:autoscaling:VerticalScaling", name, None, opts)
        names = [target.name for target in args.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"two VPA targets share a name: {sorted(names)}")
        after = pulumi.ResourceOptions(parent=self, depends_on=[args.after])
        self.autoscalers = [
            k8s.apiextensions.CustomResource(
                f"vpa-{target.name}",
                api_version=API_VERSION,
                kind="VerticalPodAutoscaler",
                metadata=kube.metadata(target.name, args.namespace, "vertical-autoscaler"),
                spec=target.spec(),
                opts=after,
            )
            for target in args.targets
        ]
        self.register_outputs({"targets": names})
