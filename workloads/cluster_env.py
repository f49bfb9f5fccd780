"""What a workload container learns from its environment when it runs in a cluster.

The Pulumi program (infra/) sets these variables; values that are secrets come from
Kubernetes Secrets through secretKeyRef, never from the image or a ConfigMap.

    RTAP_SETTINGS_FILE   the stack's validated settings as JSON (a mounted ConfigMap)
    KAFKA_BOOTSTRAP      host:port of the TLS listener
    KAFKA_USERNAME       SCRAM-SHA-512 user (a KafkaUser); KAFKA_PASSWORD from its Secret
    KAFKA_CA_FILE        the cluster CA certificate (PEM) to trust
    CLICKHOUSE_DSN       http(s)://user@host:port; CLICKHOUSE_PASSWORD from a Secret
    REDIS_SENTINELS      host:port[,…]; REDIS_MASTER_SET; REDIS_PASSWORD from a Secret
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.handoff import handed_over
from workloads.redis_client import sentinel_url
from workloads.settings import WorkloadSettings


class MissingVariableError(RuntimeError):
    """A variable the container needs is not set; the message names it."""


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise MissingVariableError(f"environment variable {name} is not set")
    return value


def mounted_settings(environ: Mapping[str, str]) -> WorkloadSettings:
    """The stack's settings, from the file the Pulumi program mounts ($RTAP_SETTINGS_FILE)."""
    return handed_over(WorkloadSettings, environ)


def kafka_security(environ: Mapping[str, str]) -> dict[str, Any]:
    """librdkafka settings for SCRAM over TLS; empty when no user is configured."""
    username = environ.get("KAFKA_USERNAME")
    if not username:
        return {}
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": username,
        "sasl.password": required(environ, "KAFKA_PASSWORD"),
        "ssl.ca.location": required(environ, "KAFKA_CA_FILE"),
    }


def redis_url(environ: Mapping[str, str]) -> str | None:
    """The Sentinel URL of the cluster's Redis, or REDIS_URL, or None (no cache)."""
    sentinels = environ.get("REDIS_SENTINELS")
    if sentinels:
        return sentinel_url(
            sentinels, required(environ, "REDIS_MASTER_SET"), environ.get("REDIS_PASSWORD")
        )
    return environ.get("REDIS_URL") or None


def spark_kafka_options(environ: Mapping[str, str]) -> dict[str, str]:
    """The same SCRAM-over-TLS login for Spark's Kafka source (Java client options)."""
    username = environ.get("KAFKA_USERNAME")
    if not username:
        return {}
    password = required(environ, "KAFKA_PASSWORD")
    if '"' in username or '"' in password:
        raise MissingVariableError("KAFKA_USERNAME and KAFKA_PASSWORD may not contain '\"'")
    login = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{username}" password="{password}";'
    )
    return {
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "SCRAM-SHA-512",
        "kafka.sasl.jaas.config": login,
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": required(environ, "KAFKA_CA_FILE"),
    }
