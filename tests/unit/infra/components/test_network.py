"""The VPC (infra/components/network.py): NAT gateways per zone where a zone's loss matters."""

from __future__ import annotations

from tests.unit.infra.conftest import Render, aws_declared


def test_prod_has_a_nat_gateway_per_zone_and_dev_one(rendered: Render) -> None:
    def nats(stack: str) -> int:
        return sum(
            1 for t, _ in aws_declared(rendered(stack)) if t == "aws:ec2/natGateway:NatGateway"
        )

    assert nats("prod") == 3
    assert nats("dev") == 1
    endpoints = [
        n for t, n in aws_declared(rendered("prod")) if t == "aws:ec2/vpcEndpoint:VpcEndpoint"
    ]
    assert sorted(endpoints) == ["ecr-api", "ecr-dkr", "s3"]
