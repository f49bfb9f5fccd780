"""What each rtap workload does to Kafka, as the broker authorizes it.

The clients take the names they use from here (the dead-letter writer's topics and
transactional id, the readers' group prefixes), and the cluster's KafkaUsers are
generated from the same uses (infra/components/kafka_access.py), so the ACLs cannot
drift from the code. `rtap render` checks the rendered KafkaUsers against these uses, and
tests/integration/test_kafka_acls.py runs the clients under the rendered ACLs on a broker
that enforces them, which shows the uses are complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from workloads.kafka import (
    READER_GROUP_PREFIX,
    STREAMING_GROUP_PREFIX,
    KafkaSettings,
    dead_letter_transactional_id,
)

Resource = Literal["topic", "group", "transactionalId", "cluster"]
Pattern = Literal["literal", "prefix"]
# Kafka's only cluster resource.
KAFKA_CLUSTER = "kafka-cluster"


class KafkaUse(NamedTuple):
    """One operation on one resource. A `prefix` use touches names that start with
    `name` (a consumer group per topic or per query), so only a prefixed ACL grants it."""

    resource: Resource
    name: str
    operation: str
    pattern: Pattern = "literal"


def idempotent_writes(*topics: str) -> list[KafkaUse]:
    """An idempotent producer (enable.idempotence) writing to `topics`."""
    return [
        *(KafkaUse("topic", topic, op) for topic in topics for op in ("Write", "Describe")),
        KafkaUse("cluster", KAFKA_CLUSTER, "IdempotentWrite"),
    ]


def transactional_writes(transactional_id: str, *topics: str) -> list[KafkaUse]:
    """A transactional producer: it also registers and commits under its id."""
    return [
        *idempotent_writes(*topics),
        KafkaUse("transactionalId", transactional_id, "Write"),
        KafkaUse("transactionalId", transactional_id, "Describe"),
    ]


def group_reads(topic: str, group_prefix: str) -> list[KafkaUse]:
    """A consumer of `topic` whose group id starts with `group_prefix`."""
    return [
        KafkaUse("topic", topic, "Read"),
        KafkaUse("topic", topic, "Describe"),
        KafkaUse("group", group_prefix, "Read", "prefix"),
    ]


def offset_reads(topic: str) -> list[KafkaUse]:
    """Metadata and log-end offsets only (ListOffsets), with no group."""
    return [KafkaUse("topic", topic, "Describe")]


@dataclass(frozen=True)
class DeadLetterNames:
    """What the streaming job's transactional dead-letter writer writes and reads back."""

    topic: str
    progress_topic: str
    transactional_id: str

    @classmethod
    def of(cls, kafka: KafkaSettings) -> DeadLetterNames:
        return cls(
            kafka.dead_letter_topic,
            kafka.dead_letter_progress_topic,
            dead_letter_transactional_id(kafka.events_topic),
        )

    def uses(self) -> list[KafkaUse]:
        # It commits letters and its progress marks in one transaction, then reads the
        # marks back (read_progress) under the reader group prefix.
        return [
            *transactional_writes(self.transactional_id, self.topic, self.progress_topic),
            *group_reads(self.progress_topic, READER_GROUP_PREFIX),
        ]


def producer_uses(kafka: KafkaSettings) -> list[KafkaUse]:
    """workloads.producer: one idempotent producer on the events topic."""
    return idempotent_writes(kafka.events_topic)


def streaming_uses(kafka: KafkaSettings) -> list[KafkaUse]:
    """workloads.streaming: Spark's Kafka source (both queries read the events topic
    under the group prefix StreamingJob sets), the dead-letter writer, and the exporter's
    log-end poller."""
    return [
        *group_reads(kafka.events_topic, STREAMING_GROUP_PREFIX),
        *DeadLetterNames.of(kafka).uses(),
        *offset_reads(kafka.events_topic),
    ]


# The KafkaUser each workload logs in as, and what it does under it.
WORKLOAD_USES: dict[str, Callable[[KafkaSettings], list[KafkaUse]]] = {
    "producer": producer_uses,
    "streaming": streaming_uses,
}


def distinct(uses: list[KafkaUse]) -> list[KafkaUse]:
    """The uses in their first order, each once."""
    return list(dict.fromkeys(uses))
