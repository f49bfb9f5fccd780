"""Alerts on the engines under the pipeline, each threshold chosen and explained. The
series are the ones each component exposes in the cluster: Strimzi's JMX exporter rules
(infra/manifests/kafka-metrics.yaml), ClickHouse's own endpoint (port 9363), Keeper's,
redis_exporter's, the kubelet's volume stats, and rtap's own (workloads/telemetry.py).
Locally the same names are served by the same exporter rules or by the platform process."""

from __future__ import annotations

from typing import TypedDict

from infra.monitoring.model import Alert, Case, RuleGroup, Severity

_BROKER = '{instance="broker-0"}'
_CLICKHOUSE = '{instance="clickhouse-0"}'


def _steady(value: float, minutes: int = 40) -> str:
    return f"{value:g}x{minutes}"


class _Cases(TypedDict):
    fires: Case
    silent: Case


def _steady_cases(
    series: str, fires: float, silent: float, labels: dict[str, str] | None = None
) -> _Cases:
    """An alert's firing and silent cases on one series held at a value for 40 minutes."""
    return {
        "fires": Case({series: _steady(fires)}, "30m", labels or {}),
        "silent": Case({series: _steady(silent)}, "30m"),
    }


def kafka_group() -> RuleGroup:
    def partitions_alert(
        name: str, metric: str, *, for_s: int, severity: Severity, meaning: str, why: str
    ) -> Alert:
        return Alert(
            name=name,
            expr=f"sum({metric}) > 0",
            for_s=for_s,
            severity=severity,
            summary=f"Kafka has {meaning}",
            description=f"Kafka reports {meaning} across the cluster.",
            threshold=why,
            **_steady_cases(f"{metric}{_BROKER}", 2, 0),
        )

    active = "kafka_controller_kafkacontroller_activecontrollercount"
    return RuleGroup(
        "rtap-kafka",
        [
            partitions_alert(
                "KafkaUnderReplicatedPartitions",
                "kafka_server_replicamanager_underreplicatedpartitions",
                for_s=600,
                severity="warning",
                meaning="under-replicated partitions",
                why="any for 10 m: a rolling restart or a reassignment catches up well within it",
            ),
            partitions_alert(
                "KafkaUnderMinIsrPartitions",
                "kafka_server_replicamanager_underminisrpartitioncount",
                for_s=60,
                severity="critical",
                meaning="partitions under their minimum in-sync replicas",
                why="any for 1 m: producers with acks=all (every rtap producer) are refused",
            ),
            partitions_alert(
                "KafkaOfflinePartitions",
                "kafka_controller_kafkacontroller_offlinepartitionscount",
                for_s=60,
                severity="critical",
                meaning="offline partitions",
                why="any for 1 m: a partition without a leader can be neither written nor read",
            ),
            Alert(
                name="KafkaActiveControllerCount",
                expr=f"sum({active}) != 1",
                for_s=60,
                severity="critical",
                summary="The KRaft quorum does not have exactly one active controller",
                description="The brokers' controllers do not report exactly one active controller.",
                threshold="not 1 for 1 m: an election takes seconds; 0 or 2 for longer "
                "means no metadata changes, or a split quorum",
                fires=Case({f"{active}{_BROKER}": _steady(0)}, "30m"),
                silent=Case(
                    {
                        f"{active}{_BROKER}": _steady(1),
                        f'{active}{{instance="broker-1"}}': _steady(0),
                    },
                    "30m",
                ),
            ),
        ],
    )


def clickhouse_group() -> RuleGroup:
    delay = "ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay"
    readonly = "ClickHouseMetrics_ReadonlyReplica"
    parts = "ClickHouseAsyncMetrics_MaxPartCountForPartition"
    rejected = "ClickHouseProfileEvents_RejectedInserts"
    delayed = "ClickHouseProfileEvents_DelayedInserts"
    return RuleGroup(
        "rtap-clickhouse",
        [
            Alert(
                name="ClickHouseReplicationDelay",
                expr=f"max({delay}) > 300",
                for_s=600,
                severity="warning",
                summary="A ClickHouse replica lags its peers by more than 5 minutes",
                description="A replica's replication queue is over 5 minutes behind.",
                threshold="300 s for 10 m: queries routed to that replica miss minutes of "
                "events, far beyond the freshness SLA; shorter spikes follow large merges",
                **_steady_cases(f"{delay}{_CLICKHOUSE}", 900, 20),
            ),
            Alert(
                name="ClickHouseReadonlyReplica",
                expr=f"max({readonly}) > 0",
                for_s=300,
                severity="critical",
                summary="A ClickHouse replica is read-only",
                description="Tables on a replica are read-only: it lost its Keeper session.",
                threshold="any for 5 m: inserts routed there fail until Keeper is back",
                **_steady_cases(f"{readonly}{_CLICKHOUSE}", 1, 0),
            ),
            Alert(
                name="ClickHouseTooManyParts",
                expr=f"max({parts}) > 500",
                for_s=600,
                severity="warning",
                summary="A ClickHouse partition has too many active parts",
                description="A partition of a table has over 500 active parts: merges are behind.",
                threshold="500 for 10 m: half of parts_to_delay_insert (1000), so there is "
                "time to act before inserts are delayed and then refused (3000)",
                **_steady_cases(f"{parts}{_CLICKHOUSE}", 800, 40),
            ),
            Alert(
                name="ClickHouseRejectedInserts",
                expr=f"sum(increase({rejected}[5m])) > 0",
                for_s=0,
                severity="critical",
                summary="ClickHouse refused inserts: too many parts",
                description="Inserts were refused in the last 5 minutes; the job retries them.",
                threshold="any: every refusal is a failed batch the streaming job must retry",
                fires=Case({f"{rejected}{_CLICKHOUSE}": "0x10 1+1x20"}, "25m"),
                silent=Case({f"{rejected}{_CLICKHOUSE}": _steady(3)}, "25m"),
            ),
            Alert(
                name="ClickHouseDelayedInserts",
                expr=f"sum(increase({delayed}[10m])) > 0",
                for_s=600,
                severity="warning",
                summary="ClickHouse is slowing inserts down: merges are behind",
                description="Inserts were delayed in the last 10 minutes.",
                threshold="any for 10 m: a delay every batch adds to freshness; a burst "
                "after a restart clears sooner",
                fires=Case({f"{delayed}{_CLICKHOUSE}": "0+5x40"}, "30m"),
                silent=Case({f"{delayed}{_CLICKHOUSE}": _steady(12)}, "30m"),
            ),
            Alert(
                name="KeeperDown",
                expr='up{job="clickhouse-keeper"} == 0',
                for_s=120,
                severity="critical",
                summary="A ClickHouse Keeper node is down",
                description="Keeper {{ $labels.instance }} does not answer its scrape.",
                threshold="2 m: one lost node keeps the quorum, but a second makes every "
                "replica read-only",
                **_steady_cases(
                    'up{job="clickhouse-keeper",instance="keeper-0"}',
                    0,
                    1,
                    {"job": "clickhouse-keeper", "instance": "keeper-0"},
                ),
            ),
        ],
    )


def redis_group() -> RuleGroup:
    redis = {"instance": "redis-0", "job": "redis"}
    selector = '{instance="redis-0",job="redis"}'
    return RuleGroup(
        "rtap-redis",
        [
            Alert(
                name="RedisDown",
                expr="redis_up == 0",
                for_s=60,
                severity="critical",
                summary="Redis does not answer",
                description="redis_exporter cannot reach Redis at {{ $labels.instance }}.",
                threshold="1 m: Sentinel fails over in seconds; a node down longer is lost",
                **_steady_cases(f"redis_up{selector}", 0, 1, redis),
            ),
            Alert(
                name="RedisMasterLinkDown",
                expr="redis_master_link_up == 0",
                for_s=120,
                severity="warning",
                summary="A Redis replica lost its link to the primary",
                description="Replica {{ $labels.instance }} does not replicate.",
                threshold="2 m: a failover re-points replicas in seconds; longer means the "
                "replica serves stale data and cannot be promoted safely",
                **_steady_cases(f"redis_master_link_up{selector}", 0, 1, redis),
            ),
        ],
    )
