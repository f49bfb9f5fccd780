"""Series the rules use that exist only in a cluster, each with the reason the local
platform has none. tests/integration/test_series_exist.py checks every other series an
expression names against the local Prometheus while the pipeline runs."""

from __future__ import annotations

# Metric name (or a prefix ending in `_`) to why it is absent locally.
CLUSTER_ONLY: dict[str, str] = {
    "kubelet_volume_stats_": "the kubelet's volume stats: no kubelet runs locally",
    "ClickHouseAsyncMetrics_": "chDB, the embedded engine, keeps no asynchronous metrics",
    "redis_master_link_up": "one redis-server locally: no replica has a link to a primary",
    'up{job="clickhouse-keeper"}': "no Keeper locally: chDB is one embedded engine",
}


def exemption(selector_name: str, exact: dict[str, str]) -> str | None:
    """Why the series a selector names is absent locally, or None if it must exist."""
    for key, reason in CLUSTER_ONLY.items():
        name, _, labels = key.partition("{")
        matches_name = (
            selector_name.startswith(name) if name.endswith("_") else selector_name == name
        )
        if not matches_name:
            continue
        if not labels:
            return reason
        label, _, value = labels.rstrip("}").partition("=")
        if exact.get(label) == value.strip('"'):
            return reason
    return None
