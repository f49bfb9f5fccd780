"""The cluster's Kafka login, against a real broker: SCRAM-SHA-512 over TLS.

The broker (tests/integration/secure_kafka.py) takes the exact client settings the
workloads derive from their environment in a cluster: the producer's librdkafka settings
(`kafka_security`) and the Spark Kafka source's options (`spark_kafka_options`). A wrong
password is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from pyspark.sql import SparkSession

from core.stack_config import find_project_dir
from tests.integration.secure_kafka import SecureBroker, secure_broker
from workloads.cluster_env import kafka_security, spark_kafka_options
from workloads.kafka import client_config

USER, PASSWORD = "streaming", "scram-test-password"
TOPIC = "events"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("secure-kafka"), {USER: PASSWORD}) as secure:
        admin = AdminClient(client_config(secure.internal))
        topic = NewTopic(TOPIC, num_partitions=1, replication_factor=1)
        admin.create_topics([topic])[TOPIC].result(30)
        yield secure


def _produce(secure: SecureBroker, password: str, value: bytes) -> None:
    config = client_config(secure.secure, **kafka_security(secure.environ(USER, password)))
    producer = Producer({**config, "acks": "all", "message.timeout.ms": 15_000})
    errors: list[str] = []
    producer.produce(
        TOPIC, value, on_delivery=lambda err, _: errors.append(str(err)) if err else None
    )
    if producer.flush(20) != 0 and not errors:
        errors.append("undelivered")
    if errors:
        raise KafkaException(errors[0])


def test_the_producer_logs_in_with_scram_over_tls(broker: SecureBroker) -> None:
    marker = uuid.uuid4().hex.encode()
    _produce(broker, PASSWORD, marker)
    reported: list[KafkaError] = []
    wrong = client_config(broker.secure, **kafka_security(broker.environ(USER, "not-the-password")))
    wrong["error_cb"] = reported.append
    admin = AdminClient(wrong)
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=15)
    admin.poll(1)  # serves the error callback
    assert KafkaError._AUTHENTICATION in [error.code() for error in reported]


def test_spark_reads_with_the_same_login(broker: SecureBroker) -> None:
    marker = uuid.uuid4().hex.encode()
    _produce(broker, PASSWORD, marker)
    connector = find_project_dir() / ".rtap" / "jars" / "spark"
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("rtap-scram-test")
        .config("spark.jars", ",".join(str(j) for j in sorted(connector.glob("*.jar"))))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        rows = (
            spark.read.format("kafka")
            .option("kafka.bootstrap.servers", broker.secure)
            .option("subscribe", TOPIC)
            .option("startingOffsets", "earliest")
            .options(**spark_kafka_options(broker.environ(USER, PASSWORD)))
            .load()
            .select("value")
            .collect()
        )
    finally:
        spark.stop()
    assert marker in [bytes(row.value) for row in rows]
