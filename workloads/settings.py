"""What every process of the platform reads: the workloads' own sections, the stack's
SLA and the embedded platform's loopback ports.

This is the part of a stack's settings (infra/settings.py StackSettings) that the
settings file hands to a child process or a container (core/handoff.py); each workload
keeps its own section beside its code.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from core.settings import SettingsModel
from workloads.events.model import EventLimits
from workloads.kafka import KafkaSettings
from workloads.producer.settings import ProducerSettings
from workloads.serving.settings import ServingSettings
from workloads.storage.settings import ClickHouseSettings
from workloads.streaming.settings import StreamingSettings


class LocalSettings(SettingsModel):
    """The embedded platform on one machine: loopback ports and where state lives."""

    kafka_port: int = Field(19092, ge=1024, le=65535)
    kafka_controller_port: int = Field(19093, ge=1024, le=65535)
    redis_port: int = Field(16379, ge=1024, le=65535)
    platform_port: int = Field(18080, ge=1024, le=65535)
    run_dir: str = ".rtap/run"
    kafka_heap_mb: int = Field(1024, ge=256, le=65536)
    startup_timeout_seconds: int = Field(180, ge=10)
    # The sessions query's process runs at this nice value (0-19): its bursts of stateful
    # work then take only CPU that ingest leaves idle (docs/architecture.md).
    sessions_niceness: int = Field(19, ge=0, le=19)
    # The embedded ClickHouse's merge threads run at this nice value (0-19), so a merge
    # waits while ingest needs the CPU instead of delaying it.
    clickhouse_merge_niceness: int = Field(19, ge=0, le=19)
    # While `rtap up` or `rtap bench` runs, a component that dies is started again after a
    # doubling back-off; more failures than this within 10 minutes is a crash loop and it
    # stays down (0: never restart).
    max_restarts: int = Field(5, ge=0, le=100)
    # The local Prometheus (scraping the engines above, evaluating the stack's alerts),
    # the broker's JMX exporter agent and the Redis exporter it scrapes.
    prometheus_port: int = Field(19090, ge=1024, le=65535)
    kafka_metrics_port: int = Field(19404, ge=1024, le=65535)
    redis_exporter_port: int = Field(19121, ge=1024, le=65535)
    # The local Prometheus evaluates the rules and scrapes its targets this often (the
    # broker's JMX exporter three times less often). Every scrape takes CPU from ingest on
    # the same cores; 10 s costs a third of the CPU that 2 s did (docs/operations.md,
    # "What the local monitoring costs"). The integration tests use 2 s, so that alerts
    # move within seconds.
    monitoring_interval_seconds: int = Field(10, ge=1, le=300)
    # Locally an alert fires after this share of its `for:`, so that a test or a drill
    # sees it within seconds rather than minutes. The cluster always waits the full `for:`.
    alert_for_scale: float = Field(0.1, gt=0, le=1)


class LatencyTarget(SettingsModel):
    """The p95 and p99 one group of API requests must stay within, in milliseconds."""

    p95_ms: float = Field(gt=0)
    p99_ms: float = Field(gt=0)

    @model_validator(mode="after")
    def _p95_within_p99(self) -> LatencyTarget:
        if self.p95_ms > self.p99_ms:
            raise ValueError(f"p95Ms ({self.p95_ms:g}) must not exceed p99Ms ({self.p99_ms:g})")
        return self


class EndpointTargets(SettingsModel):
    """Latency targets per group of API requests, as the load tests group them
    (loadtests/suites): each group is measured and gated on its own."""

    # The dashboard's four panel queries over REST: counts, top types, distinct users and
    # freshness.
    dashboard: LatencyTarget = LatencyTarget(p95_ms=15, p99_ms=25)
    # One user's events and sessions over REST: a drill-down from a panel.
    drilldown: LatencyTarget = LatencyTarget(p95_ms=25, p99_ms=50)
    # The same panel queries and drill-downs through /graphql.
    graphql: LatencyTarget = LatencyTarget(p95_ms=20, p99_ms=40)


class SlaSettings(SettingsModel):
    """The targets a stack promises. Every SLA consumer reads them here: the live view,
    the benchmarks' verdicts, and the alerts, load-test gates and drills built on them."""

    freshness_p95_seconds: float = Field(2.0, gt=0)
    ingest_events_per_second: int = Field(50_000, gt=0)
    query_p99_ms: float = Field(25.0, gt=0)
    uncached_query_p95_ms: float = Field(100.0, gt=0)
    # The share of API requests answered without a server error (5xx) the stack promises;
    # its complement is the error budget the availability burn-rate alerts spend.
    availability_target: float = Field(0.999, ge=0.95, lt=1)
    # Above this share of input going to the dead-letter topic the producers are broken,
    # not unlucky: the synthetic producer sends 1% malformed events on purpose.
    max_dead_letter_share: float = Field(0.05, gt=0, lt=1)
    # Per group of API requests, the latency a load test holds them to
    # (`rtap loadtest`); queryP99Ms above still bounds all of them together.
    endpoints: EndpointTargets = EndpointTargets()
    # The API requests per second the stack must answer successfully, in every 10-second
    # window of a load test's steady part.
    min_requests_per_second: float = Field(1000.0, gt=0)
    # A producer's acknowledgement (acks=all, idempotent): p99 from send to the broker's
    # answer, as a load test's ingest users see it.
    ack_p99_ms: float = Field(200.0, gt=0)

    @property
    def load_test_rate(self) -> float:
        """The open model's rate when a load test names none: 10% above the floor, so
        that a passing run shows the floor is held with room."""
        return self.min_requests_per_second * 1.1


class WorkloadSettings(SettingsModel):
    """The sections a platform process reads, in the order the settings file holds them."""

    environment: str = Field("local", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    streaming: StreamingSettings = StreamingSettings()
    producer: ProducerSettings = ProducerSettings()
    events: EventLimits = EventLimits()
    local: LocalSettings = LocalSettings()
    serving: ServingSettings = ServingSettings()
    sla: SlaSettings = SlaSettings()

    @model_validator(mode="after")
    def _valid_events_outlive_validation(self) -> WorkloadSettings:
        # An event accepted as valid but older than the raw retention would be dropped by
        # the TTL as soon as it lands: silent loss. The bounds must nest.
        retention_s = self.clickhouse.raw_retention_days * 86_400
        if self.events.max_age_seconds >= retention_s:
            raise ValueError(
                f"events.maxAgeSeconds ({self.events.max_age_seconds}) must be below "
                f"clickhouse.rawRetentionDays ({self.clickhouse.raw_retention_days} days), or "
                "valid late events would expire on arrival"
            )
        if self.producer.max_lateness_seconds >= self.events.max_age_seconds:
            raise ValueError(
                f"producer.maxLatenessSeconds ({self.producer.max_lateness_seconds}) must be "
                f"below events.maxAgeSeconds ({self.events.max_age_seconds}), or late synthetic "
                "events would be dead-lettered as too old"
            )
        return self

    def workload_part(self) -> WorkloadSettings:
        """Only these sections, from a model that may hold more (a whole stack's settings):
        what the settings file hands over."""
        fields = set(WorkloadSettings.model_fields)
        return WorkloadSettings.model_validate(self.model_dump(include=fields))
