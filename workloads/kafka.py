"""Kafka topics shared by the producer, the streaming job and the platform set-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)
from pydantic import Field, model_validator

from core.settings import SettingsModel

log = structlog.get_logger(__name__)

TOPIC_PATTERN = r"^[A-Za-z0-9._-]{1,200}$"
# Consumer groups and transactional ids the workloads use; the cluster's Kafka ACLs
# (infra/components/kafka_access.py) grant exactly these.
STREAMING_GROUP_PREFIX = "rtap-streaming"
READER_GROUP_PREFIX = "rtap-reader-"


def dead_letter_transactional_id(events_topic: str) -> str:
    """Stable per events topic, so a restarted job fences the writer before it."""
    return f"rtap-dead-letters-{events_topic}"


# librdkafka's own log lines (connection refused while a broker starts, coordinator
# loading) go through Python logging, into the run's log file, not onto the terminal.
CLIENT_LOGGER = logging.getLogger("rtap.kafka.client")
_HOUR_MS = 3_600_000


class KafkaSettings(SettingsModel):
    """Topic layout and durability. Defaults are the reference platform's production ones."""

    partitions: int = Field(12, ge=1, le=10_000)
    replication_factor: int = Field(3, ge=1, le=10)
    min_insync_replicas: int = Field(2, ge=1, le=10)
    retention_hours: int = Field(168, ge=1)
    dead_letter_retention_hours: int = Field(720, ge=1)
    events_topic: str = Field("events", pattern=TOPIC_PATTERN)
    dead_letter_topic: str = Field("events.dlq", pattern=TOPIC_PATTERN)

    @model_validator(mode="after")
    def _isr_fits_replication(self) -> KafkaSettings:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"minInsyncReplicas ({self.min_insync_replicas}) cannot exceed "
                f"replicationFactor ({self.replication_factor})"
            )
        return self

    @property
    def dead_letter_progress_topic(self) -> str:
        """Compacted topic where the dead-letter writer records how far it has written."""
        return f"{self.dead_letter_topic}.progress"


def client_config(bootstrap: str, **settings: Any) -> dict[str, Any]:
    """Configuration every Kafka client rtap creates starts from."""
    return {"bootstrap.servers": bootstrap, "logger": CLIENT_LOGGER, **settings}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


class TopicMismatchError(RuntimeError):
    """An existing topic cannot be brought in line with the settings without data loss."""


def topic_specs(settings: KafkaSettings) -> list[TopicSpec]:
    durability = {"min.insync.replicas": str(settings.min_insync_replicas)}
    return [
        TopicSpec(
            settings.events_topic,
            settings.partitions,
            {**durability, "retention.ms": str(settings.retention_hours * _HOUR_MS)},
        ),
        TopicSpec(
            settings.dead_letter_topic,
            settings.partitions,
            {**durability, "retention.ms": str(settings.dead_letter_retention_hours * _HOUR_MS)},
        ),
        TopicSpec(
            settings.dead_letter_progress_topic, 1, {**durability, "cleanup.policy": "compact"}
        ),
    ]


def ensure_topics(bootstrap: str, settings: KafkaSettings, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics and align retention; returns the names created.

    Partition counts are never changed: adding partitions remaps user keys, which breaks
    per-user ordering, so a mismatch is an error the operator resolves deliberately.
    """
    admin = AdminClient(client_config(bootstrap))
    existing = admin.list_topics(timeout=timeout_s).topics
    created: list[str] = []
    for spec in topic_specs(settings):
        if spec.name in existing:
            count = len(existing[spec.name].partitions)
            if count != spec.partitions:
                raise TopicMismatchError(
                    f"topic {spec.name} has {count} partitions but the settings ask for "
                    f"{spec.partitions}; partitions cannot change without remapping keys. "
                    "Set rtap:kafka.partitions back, or purge the local data (rtap down --purge)."
                )
            _align_config(admin, spec, timeout_s)
            continue
        new = NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=settings.replication_factor,
            config=spec.config,
        )
        admin.create_topics([new], operation_timeout=timeout_s)[spec.name].result(timeout_s)
        created.append(spec.name)
        log.info("topic created", topic=spec.name, partitions=spec.partitions)
    return created


def _align_config(admin: AdminClient, spec: TopicSpec, timeout_s: float) -> None:
    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        for name, value in spec.config.items()
    ]
    resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=entries)
    admin.incremental_alter_configs([resource])[resource].result(timeout_s)


def end_offsets(bootstrap: str, topic: str, timeout_s: float = 10.0) -> dict[int, int]:
    """The next offset to be written, per partition."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "rtap-offsets-probe"}))
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise KafkaException(f"topic {topic} not found")
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)[1]
            for p in sorted(metadata.partitions)
        }
    finally:
        consumer.close()
