"""The Prometheus series rtap's own workloads emit: one spelling, shared by the emitters
and by the alerts and dashboards built on them (infra/monitoring), so a renamed metric
cannot silently leave an alert watching nothing.

Names are metric family names as prometheus-client takes them: a counter `x` is exposed
as `x_total`, a histogram `x` as `x_bucket`, `x_sum` and `x_count`.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.utils import floatToGoString

# The streaming job (its driver), per query.
EVENTS_STORED = "rtap_events_stored"  # counter: valid events committed to ClickHouse
DEAD_LETTERS = "rtap_dead_letters"  # counter, by reason: events sent to the dead-letter topic
FRESHNESS = "rtap_freshness_seconds"  # histogram: event time to committed in ClickHouse
BATCH_DURATION = "rtap_batch_duration_seconds"  # histogram, by query
SINK_ERRORS = "rtap_sink_errors"  # counter, by query: batches whose write raised (replayed)
LAST_BATCH = "rtap_stream_last_batch_timestamp_seconds"  # gauge, by query
# Offsets per topic and partition: what the last committed batch of the ingest query read
# up to (from its progress), the log end the broker reports, and their difference. Spark
# keeps its offsets in the checkpoint, so no Kafka tool can see this lag.
PROCESSED_OFFSET = "rtap_stream_processed_offset"
LOG_END_OFFSET = "rtap_kafka_log_end_offset"
LAG = "rtap_stream_lag_records"

# The serving API.
HTTP_REQUEST_DURATION = "rtap_http_request_duration_seconds"  # histogram: route, method, status

# The producer.
EVENTS_SENT = "rtap_producer_events_sent"  # counter: acknowledged by the broker
DELIVERY_ERRORS = "rtap_producer_delivery_errors"  # counter: failed after retries

# Routes that answer data queries; health, metrics and the dashboard page are not the SLO.
DATA_ROUTES = "/v1/.*|/graphql"

_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_FRESHNESS_BUCKETS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
BATCH_DURATION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def counter(name: str) -> str:
    """The series name Prometheus stores for a counter family."""
    return f"{name}_total"


def latency_buckets(targets_s: Iterable[float]) -> tuple[float, ...]:
    """The API's histogram buckets: the standard ones and every SLA target, so that an
    SLO's threshold is a bucket edge and its ratio is exact."""
    return tuple(sorted({*_LATENCY_BUCKETS_S, *targets_s}))


def freshness_buckets(target_s: float | None) -> tuple[float, ...]:
    return tuple(sorted({*_FRESHNESS_BUCKETS_S, *([target_s] if target_s else [])}))


def bucket_label(edge_s: float) -> str:
    """The `le` label prometheus-client writes for a bucket edge (2.0 as "2.0", 0.025 as
    "0.025"): an SLO's ratio must name the edge exactly as it is exposed."""
    label: str = floatToGoString(edge_s)  # type: ignore[no-untyped-call]
    return label
