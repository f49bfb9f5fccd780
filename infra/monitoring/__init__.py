"""rtap's alerts and recording rules as one Python model, built from the stack's `sla`
block: rendered into a PrometheusRule for the cluster, a rule file for the local
Prometheus, and promtool unit tests that make each alert fire and keep it silent."""
