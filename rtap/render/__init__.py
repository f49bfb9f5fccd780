"""`rtap render`: the Pulumi program run offline under Pulumi's mocks, its Kubernetes
objects written out and validated."""
