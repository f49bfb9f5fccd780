"""IAM policy documents and the EKS kubeconfig, as pure functions of plain values."""

from __future__ import annotations

import json

_VERSION = "2012-10-17"


def service_trust(service: str) -> str:
    """Lets an AWS service (eks, ec2) assume the role."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": _VERSION, "Statement": [statement]})


def web_identity_trust(provider_arn: str, issuer: str, namespace: str, account: str) -> str:
    """IRSA: only pods running as `namespace/account` may assume the role."""
    host = issuer.removeprefix("https://")
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{host}:sub": f"system:serviceaccount:{namespace}:{account}",
                f"{host}:aud": "sts.amazonaws.com",
            }
        },
    }
    return json.dumps({"Version": _VERSION, "Statement": [statement]})


def bucket_read_write(bucket_arn: str) -> str:
    """List one bucket and read, write and delete its objects; nothing else."""
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arn,
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{bucket_arn}/*",
        },
    ]
    return json.dumps({"Version": _VERSION, "Statement": statements})


def eks_kubeconfig(name: str, endpoint: str, certificate: str, region: str) -> str:
    """Authenticates through `aws eks get-token`: no long-lived credential in state."""
    token = ["eks", "get-token", "--cluster-name", name, "--region", region]
    cluster = {"server": endpoint, "certificate-authority-data": certificate}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": cluster}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": token,
                        }
                    },
                }
            ],
        }
    )
