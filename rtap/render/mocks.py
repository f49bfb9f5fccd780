"""Pulumi mocks that record what the program declares and answer like the providers.

Each resource's state is its inputs plus the outputs the program reads from it (ids,
ARNs, the EKS endpoint and OIDC issuer). Generated passwords get a recognisable value,
so a test can prove they never appear outside a secret. A stack transformation records
what the mocks cannot see: each resource's parent and what it depends on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pulumi

# Every generated secret's mock value starts with this.
SECRET_MARKER = "rtap-render-secret-"
# A resource by its type token and name.
Ref = tuple[str, str]


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Node:
    """A declared resource in the program's graph: its component and what it waits for."""

    ref: Ref
    parent: Ref | None
    depends_on: tuple[Ref, ...]
    # `pulumi destroy` (or dropping it from the program) leaves it in the cluster.
    retained_on_delete: bool = False


def _ref(resource: pulumi.Resource) -> Ref:
    return resource.pulumi_resource_type, resource.pulumi_resource_name


def graph_recorder(nodes: list[Node]) -> pulumi.ResourceTransformation:
    """A stack transformation that appends every resource's node to `nodes`."""

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        depends_on = args.opts.depends_on if args.opts else None
        if isinstance(depends_on, pulumi.Resource):
            depends_on = [depends_on]
        # An Output of resources cannot be seen here; the program passes plain lists.
        targets = (
            [d for d in depends_on if isinstance(d, pulumi.Resource)]
            if isinstance(depends_on, list | tuple)
            else []
        )
        parent = args.opts.parent if args.opts else None
        nodes.append(
            Node(
                (args.type_, args.name),
                _ref(parent) if isinstance(parent, pulumi.Resource) else None,
                tuple(_ref(t) for t in targets),
                bool(args.opts and args.opts.retain_on_delete),
            )
        )

    return record


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    declared: list[Declared] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(Declared(args.typ, args.name, dict(args.inputs)))
        state = {**args.inputs, **_outputs(args.typ, args.name, args.inputs)}
        # A subnet's id as AWS spells them, which what selects subnets by id checks.
        if args.typ == "aws:ec2/subnet:Subnet":
            return f"subnet-{_hex(args.name)}", state
        return f"{args.name}-id", state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        raise NotImplementedError(f"rtap render has no mock answer for the call {args.token}")


def _hex(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:17]


def _outputs(token: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if token == "random:index/randomPassword:RandomPassword":
        return {"result": f"{SECRET_MARKER}{name}"}
    if not token.startswith("aws:"):
        return {}
    outputs: dict[str, Any] = {"arn": f"arn:aws:mock::000000000000:{name}"}
    if token == "aws:eks/cluster:Cluster":
        outputs |= {
            "endpoint": f"https://{name}.eks.mock",
            "certificateAuthority": {"data": "bW9jaw=="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.mock/id/{name}"}]}],
            "vpcConfig": {
                **(inputs.get("vpcConfig") or {}),
                "clusterSecurityGroupId": f"sg-{_hex(name)}",
            },
        }
    if token == "aws:sqs/queue:Queue":
        outputs |= {"name": inputs.get("name", name), "url": f"https://sqs.mock/{name}"}
    if token in ("aws:iam/role:Role", "aws:s3/bucket:Bucket"):
        outputs |= {"name": inputs.get("name", name), "bucket": inputs.get("bucket", name)}
    if token == "aws:ec2/vpc:Vpc":
        outputs |= {"cidrBlock": inputs.get("cidrBlock")}
    return outputs
