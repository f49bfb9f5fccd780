"""Grafana dashboards as code: the pipeline overview, Kafka, ClickHouse and the API, as
Grafana's dashboard JSON. The monitoring component provisions each as a ConfigMap that
Grafana's sidecar loads; the series test evaluates every query against the local
Prometheus, as it does the alert rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workloads import telemetry as t
from workloads.settings import WorkloadSettings

_DATASOURCE = {"type": "prometheus", "uid": "prometheus"}


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[str, ...]
    unit: str = "short"
    # One legend per query, in Grafana's {{label}} template syntax.
    legends: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    panels: tuple[Panel, ...]

    def json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": ["rtap"],
            "timezone": "utc",
            "schemaVersion": 39,
            "refresh": "30s",
            "time": {"from": "now-1h", "to": "now"},
            "panels": [_panel(panel, index) for index, panel in enumerate(self.panels)],
        }


def _panel(panel: Panel, index: int) -> dict[str, Any]:
    legends = panel.legends or ("",) * len(panel.queries)
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "expr": query,
                "legendFormat": legend,
                "datasource": _DATASOURCE,
            }
            for n, (query, legend) in enumerate(zip(panel.queries, legends, strict=True))
        ],
    }


def dashboards(settings: WorkloadSettings) -> list[Dashboard]:
    topic = f'topic="{settings.kafka.events_topic}"'
    return [
        Dashboard("rtap-pipeline", "rtap: pipeline", _pipeline_panels(topic, settings)),
        Dashboard("rtap-kafka", "rtap: Kafka", _kafka_panels()),
        Dashboard("rtap-clickhouse", "rtap: ClickHouse", _clickhouse_panels()),
        Dashboard("rtap-api", "rtap: API", _api_panels()),
    ]


def dashboard_queries(settings: WorkloadSettings) -> list[str]:
    return [q for d in dashboards(settings) for panel in d.panels for q in panel.queries]


def _quantile(q: float, histogram: str, by: str = "") -> str:
    keep = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({keep}) (rate({histogram}_bucket[1m])))"


def _pipeline_panels(topic: str, settings: WorkloadSettings) -> tuple[Panel, ...]:
    return (
        Panel(
            "Events in (topic) and stored (ClickHouse) per second",
            (
                f"sum(rate({t.LOG_END_OFFSET}{{{topic}}}[1m]))",
                f"sum(rate({t.counter(t.EVENTS_STORED)}[1m]))",
            ),
            "ops",
            ("in", "stored"),
        ),
        Panel(
            "Lag per partition (records)",
            (f"{t.LAG}{{{topic}}}",),
            legends=("{{partition}}",),
        ),
        Panel(
            f"Freshness p50 / p95 (SLA {settings.sla.freshness_p95_seconds:g} s)",
            (_quantile(0.5, t.FRESHNESS), _quantile(0.95, t.FRESHNESS)),
            "s",
            ("p50", "p95"),
        ),
        Panel(
            "Batch duration p95 by query",
            (_quantile(0.95, t.BATCH_DURATION, "query"),),
            "s",
            ("{{query}}",),
        ),
        Panel(
            "Dead letters per second by reason",
            (f"sum by (reason) (rate({t.counter(t.DEAD_LETTERS)}[5m]))",),
            "ops",
            ("{{reason}}",),
        ),
        Panel(
            "SLO error ratios (1 h)",
            ("rtap:slo_error_ratio:rate1h",),
            "percentunit",
            ("{{slo}}",),
        ),
    )


def _kafka_panels() -> tuple[Panel, ...]:
    return (
        Panel(
            "Messages in per second",
            ("sum(rate(kafka_server_brokertopicmetrics_messagesin_total[1m]))",),
            "ops",
        ),
        Panel(
            "Bytes in and out per second",
            (
                "sum(rate(kafka_server_brokertopicmetrics_bytesin_total[1m]))",
                "sum(rate(kafka_server_brokertopicmetrics_bytesout_total[1m]))",
            ),
            "Bps",
            ("in", "out"),
        ),
        Panel(
            "Under-replicated, under-min-ISR and offline partitions",
            (
                "sum(kafka_server_replicamanager_underreplicatedpartitions)",
                "sum(kafka_server_replicamanager_underminisrpartitioncount)",
                "sum(kafka_controller_kafkacontroller_offlinepartitionscount)",
            ),
            legends=("under-replicated", "under min ISR", "offline"),
        ),
        Panel(
            "Active controllers",
            ("sum(kafka_controller_kafkacontroller_activecontrollercount)",),
        ),
    )


def _clickhouse_panels() -> tuple[Panel, ...]:
    return (
        Panel(
            "Rows inserted per second",
            ("sum(rate(ClickHouseProfileEvents_InsertedRows[1m]))",),
            "ops",
        ),
        Panel(
            "Queries per second (select, insert)",
            (
                "sum(rate(ClickHouseProfileEvents_SelectQuery[1m]))",
                "sum(rate(ClickHouseProfileEvents_InsertQuery[1m]))",
            ),
            "ops",
            ("select", "insert"),
        ),
        Panel("Merges running", ("sum(ClickHouseMetrics_Merge)",)),
        Panel(
            "Delayed and rejected inserts (5 m)",
            (
                "sum(increase(ClickHouseProfileEvents_DelayedInserts[5m]))",
                "sum(increase(ClickHouseProfileEvents_RejectedInserts[5m]))",
            ),
            legends=("delayed", "rejected"),
        ),
    )


def _api_panels() -> tuple[Panel, ...]:
    requests = f'{t.HTTP_REQUEST_DURATION}_count{{route=~"{t.DATA_ROUTES}"}}'
    return (
        Panel(
            "Requests per second by status",
            (f"sum by (status) (rate({requests}[1m]))",),
            "reqps",
            ("{{status}}",),
        ),
        Panel(
            "Latency p99 by route",
            (_quantile(0.99, t.HTTP_REQUEST_DURATION, "route"),),
            "s",
            ("{{route}}",),
        ),
        Panel(
            "Cache results per second",
            ("sum by (result) (rate(rtap_cache_results_total[1m]))",),
            "ops",
            ("{{result}}",),
        ),
        Panel(
            "ClickHouse time per query class, p95",
            (_quantile(0.95, "rtap_clickhouse_query_duration_seconds", "query"),),
            "s",
            ("{{query}}",),
        ),
    )
