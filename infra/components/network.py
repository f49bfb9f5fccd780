"""The VPC: a public and a private subnet per zone, NAT, and endpoints for S3 and ECR."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.settings import NetworkSettings

# Subnets are /20s: 4,091 addresses per zone and tier, room for VPC CNI's pod IPs.
SUBNET_PREFIX = 20


@dataclass(frozen=True)
class NetworkArgs:
    """rtap:network (region, VPC block, NAT gateways) and the zones of rtap:cluster."""

    network: NetworkSettings
    zones: list[str]
    cluster_name: str


def subnet_blocks(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(public, private) /20 blocks: publics first, privates after them."""
    blocks = [str(b) for b in ipaddress.ip_network(vpc_cidr).subnets(new_prefix=SUBNET_PREFIX)]
    return blocks[:zones], blocks[zones : 2 * zones]


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rtap:network:Network", name, None, opts)
        s = args.network
        child = pulumi.ResourceOptions(parent=self)
        tags = {
            "rtap:stack": pulumi.get_stack(),
            "kubernetes.io/cluster/" + args.cluster_name: "shared",
        }
        self.vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=s.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"rtap-{pulumi.get_stack()}"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway("igw", vpc_id=self.vpc.id, tags=tags, opts=child)
        self._public_routes = aws.ec2.RouteTable(
            "public",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=tags,
            opts=child,
        )
        self._tags, self._child = tags, child
        public_blocks, private_blocks = subnet_blocks(s.vpc_cidr, len(args.zones))
        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        self._nat_gateways: list[aws.ec2.NatGateway] = []
        private_route_tables = []
        for index, zone in enumerate(args.zones):
            public = self._public_subnet(zone, public_blocks[index])
            if s.nat_gateways == "perZone" or not self._nat_gateways:
                self._nat_gateway(zone, public)
            # Each zone egresses through its own NAT when there is one per zone.
            private_route_tables.append(
                self._private_subnet(zone, private_blocks[index], self._nat_gateways[-1])
            )
        self._endpoints(s.region, private_route_tables, tags, child)
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "privateSubnetIds": [sn.id for sn in self.private_subnets],
                "natGateways": len(self._nat_gateways),
            }
        )

    def _public_subnet(self, zone: str, block: str) -> aws.ec2.Subnet:
        public = aws.ec2.Subnet(
            f"public-{zone}",
            vpc_id=self.vpc.id,
            cidr_block=block,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={**self._tags, "kubernetes.io/role/elb": "1", "Name": f"public-{zone}"},
            opts=self._child,
        )
        aws.ec2.RouteTableAssociation(
            f"public-{zone}",
            subnet_id=public.id,
            route_table_id=self._public_routes.id,
            opts=self._child,
        )
        self.public_subnets.append(public)
        return public

    def _nat_gateway(self, zone: str, public: aws.ec2.Subnet) -> None:
        eip = aws.ec2.Eip(f"nat-{zone}", domain="vpc", tags=self._tags, opts=self._child)
        self._nat_gateways.append(
            aws.ec2.NatGateway(
                f"nat-{zone}",
                subnet_id=public.id,
                allocation_id=eip.id,
                tags=self._tags,
                opts=self._child,
            )
        )

    def _private_subnet(self, zone: str, block: str, nat: aws.ec2.NatGateway) -> aws.ec2.RouteTable:
        private = aws.ec2.Subnet(
            f"private-{zone}",
            vpc_id=self.vpc.id,
            cidr_block=block,
            availability_zone=zone,
            tags={**self._tags, "kubernetes.io/role/internal-elb": "1", "Name": f"private-{zone}"},
            opts=self._child,
        )
        route_table = aws.ec2.RouteTable(
            f"private-{zone}",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
            tags=self._tags,
            opts=self._child,
        )
        aws.ec2.RouteTableAssociation(
            f"private-{zone}",
            subnet_id=private.id,
            route_table_id=route_table.id,
            opts=self._child,
        )
        self.private_subnets.append(private)
        return route_table

    def _endpoints(
        self,
        region: str,
        route_tables: list[aws.ec2.RouteTable],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """S3 as a gateway (free, checkpoints stay off NAT); ECR as interfaces."""
        aws.ec2.VpcEndpoint(
            "s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in route_tables],
            tags=tags,
            opts=child,
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            "endpoints",
            vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to the interface endpoints",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [self.vpc.cidr_block],
                }
            ],
            tags=tags,
            opts=child,
        )
        for service in ("ecr.api", "ecr.dkr"):
            aws.ec2.VpcEndpoint(
                service.replace(".", "-"),
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[sn.id for sn in self.private_subnets],
                security_group_ids=[endpoint_sg.id],
                tags=tags,
                opts=child,
            )
