"""The streaming job's Prometheus series (names in workloads/telemetry.py): what it
stored and dead-lettered, its freshness and batch durations, its sink errors, and its
lag per partition, which no Kafka tool can see because Spark commits no offsets.

The lag is the log end the broker reports, read by a thread every few seconds, minus the
offsets the ingest query's last committed batch read up to (from its progress). A log
end older than a few polls is not published: a broker that cannot be reached must make
the lag series disappear, not freeze at its last value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from workloads import telemetry as t
from workloads.kafka import client_config
from workloads.streaming.metrics import Buckets, PipelineMetrics

log = structlog.get_logger(__name__)

# Where the driver serves /metrics in a cluster (locally the API's /metrics has them).
DRIVER_METRICS_PORT = 9464
# Offsets per partition: the ingest query's, from StreamingJob.status().
ProcessedOffsets = Callable[[], Mapping[int, int]]


class LogEndPoller:
    """The topic's log end offsets, read every `interval_s` by a daemon thread."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        security: Mapping[str, Any] | None = None,
        interval_s: float = 2.0,
    ) -> None:
        self._topic = topic
        self._interval_s = interval_s
        self._stale_after_s = 3 * interval_s + 2.0
        config = client_config(bootstrap, **{"group.id": "rtap-offsets-probe", **(security or {})})
        self._consumer = Consumer(config)
        self._latest: dict[int, int] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-end-poller", daemon=True)

    def start(self) -> LogEndPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()

    def latest(self) -> dict[int, int]:
        """The last log end read, or nothing if it is stale."""
        with self._lock:
            fresh = time.monotonic() - self._read_at <= self._stale_after_s
            return dict(self._latest) if fresh else {}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                offsets = self._read(timeout_s=min(2.0, self._interval_s))
            except KafkaException as exc:
                log.warning("cannot read the log end offsets", topic=self._topic, error=str(exc))
            else:
                with self._lock:
                    self._latest, self._read_at = offsets, time.monotonic()
            self._stop.wait(self._interval_s)

    def _read(self, timeout_s: float) -> dict[int, int]:
        metadata = self._consumer.list_topics(self._topic, timeout=timeout_s).topics.get(
            self._topic
        )
        if metadata is None or metadata.error is not None:
            raise KafkaException(f"topic {self._topic} not found")
        return {
            p: self._consumer.get_watermark_offsets(
                TopicPartition(self._topic, p), timeout=timeout_s
            )[1]
            for p in sorted(metadata.partitions)
        }


class PipelineCollector(Collector):
    """Publishes PipelineMetrics and the lag at each scrape (prometheus-client calls
    `collect` from its HTTP thread)."""

    def __init__(
        self,
        metrics: PipelineMetrics,
        topic: str,
        processed: ProcessedOffsets,
        log_end: Callable[[], Mapping[int, int]],
    ) -> None:
        self._metrics = metrics
        self._topic = topic
        self._processed = processed
        self._log_end = log_end

    def collect(self) -> Iterator[Any]:
        view = self._metrics.prometheus_view()
        yield CounterMetricFamily(
            t.EVENTS_STORED, "Valid events committed to ClickHouse.", value=view["rows_stored"]
        )
        yield _by_label(
            CounterMetricFamily(
                t.DEAD_LETTERS, "Events sent to the dead-letter topic.", labels=["reason"]
            ),
            view["dead_letters"],
        )
        yield _by_label(
            CounterMetricFamily(
                t.SINK_ERRORS, "Batches whose write raised (Spark replays them).", labels=["query"]
            ),
            view["sink_errors"],
        )
        yield _by_label(
            GaugeMetricFamily(
                t.LAST_BATCH,
                "When each query last committed a batch (Unix time).",
                labels=["query"],
            ),
            view["last_batch_at"],
        )
        freshness = HistogramMetricFamily(t.FRESHNESS, "Event time to committed in ClickHouse.")
        _add_histogram(freshness, [], view["freshness"])
        yield freshness
        durations = HistogramMetricFamily(
            t.BATCH_DURATION, "Time to write one micro-batch.", labels=["query"]
        )
        for query, buckets in sorted(view["batch_seconds"].items()):
            _add_histogram(durations, [query], buckets)
        yield durations
        yield from self._offsets()

    def _offsets(self) -> Iterator[GaugeMetricFamily]:
        labels = ["topic", "partition"]
        processed = dict(self._processed())
        log_end = dict(self._log_end())
        families = (
            (
                GaugeMetricFamily(
                    t.PROCESSED_OFFSET,
                    "Next offset the ingest query reads, as of its last committed batch.",
                    labels=labels,
                ),
                processed,
            ),
            (
                GaugeMetricFamily(
                    t.LOG_END_OFFSET, "Next offset the broker will write.", labels=labels
                ),
                log_end,
            ),
            (
                GaugeMetricFamily(
                    t.LAG, "Records written to the topic and not yet processed.", labels=labels
                ),
                {p: max(0, end - processed.get(p, 0)) for p, end in log_end.items()},
            ),
        )
        for family, values in families:
            for partition, value in sorted(values.items()):
                family.add_metric([self._topic, str(partition)], value)
            yield family


def _by_label(family: CounterMetricFamily | GaugeMetricFamily, values: Mapping[str, float]) -> Any:
    for label, value in sorted(values.items()):
        family.add_metric([label], value)
    return family


def _add_histogram(family: HistogramMetricFamily, labels: list[str], buckets: Buckets) -> None:
    pairs = [
        (t.bucket_label(edge), float(count))
        for edge, count in zip(buckets.edges, buckets.at_or_below, strict=True)
    ]
    family.add_metric(labels, [*pairs, ("+Inf", float(buckets.count))], sum_value=buckets.sum)
