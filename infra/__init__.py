"""The Pulumi program: the platform on Kubernetes (EKS, or a cluster you already have)."""
