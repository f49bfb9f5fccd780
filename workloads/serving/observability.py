"""Prometheus metrics of the serving API, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.request_seconds = Histogram(
            "rtap_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_results = Counter(
            "rtap_cache_results_total",
            "Cache lookups by query class and result (hit, miss, stale, bypass).",
            ["query", "result"],
            registry=self.registry,
        )
        self.clickhouse_seconds = Histogram(
            "rtap_clickhouse_query_duration_seconds",
            "Time ClickHouse took per query class.",
            ["query"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "rtap_errors_total",
            "Errors answered, by class (validation, auth, rate_limit, unavailable, internal).",
            ["error_class"],
            registry=self.registry,
        )
