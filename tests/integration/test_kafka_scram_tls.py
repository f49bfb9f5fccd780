"""The cluster's Kafka login, against a real broker: SCRAM-SHA-512 over TLS.

A broker with a SASL_SSL listener (a throwaway CA and server certificate from openssl,
SCRAM users created at storage format time, as Strimzi does for KafkaUsers) takes the
exact client settings the workloads derive from their environment in a cluster: the
producer's librdkafka settings (`kafka_security`) and the Spark Kafka source's options
(`spark_kafka_options`). A wrong password is refused.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from pyspark.sql import SparkSession

from core.stack_config import find_project_dir
from rtap.local.prerequisites import port_in_use
from rtap.local.processes.kafka_broker import _kafka_uuid
from tests.integration.conftest import _free_ports
from workloads.cluster_env import kafka_security, spark_kafka_options
from workloads.kafka import client_config

USER, PASSWORD = "streaming", "scram-test-password"
TOPIC = "events"


@dataclass(frozen=True)
class SecureBroker:
    internal: str  # plaintext, for the test's own set-up
    secure: str  # SASL_SSL, what the workloads use
    ca_file: Path

    def environ(self, password: str = PASSWORD) -> dict[str, str]:
        """What a workload container gets from the Pulumi program (workloads/cluster_env)."""
        return {
            "KAFKA_BOOTSTRAP": self.secure,
            "KAFKA_USERNAME": USER,
            "KAFKA_PASSWORD": password,
            "KAFKA_CA_FILE": str(self.ca_file),
        }


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _certificates(directory: Path) -> tuple[Path, Path]:
    """(CA certificate, server key + certificate chain) in PEM, valid for 127.0.0.1."""
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=rtap-test-ca", "-keyout", str(ca_key), "-out", str(ca_crt))  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    signing = ["-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "1"]
    _openssl("x509", "-req", "-in", str(csr), *signing,
             "-extfile", str(extensions), "-out", str(crt))  # fmt: skip
    keystore = directory / "server.pem"
    keystore.write_text(key.read_text() + crt.read_text())
    return ca_crt, keystore


def _broker_config(directory: Path, ports: list[int], keystore: Path) -> Path:
    internal, secure, controller = ports
    properties = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller}",
        "listeners": f"INTERNAL://127.0.0.1:{internal},SASL_SSL://127.0.0.1:{secure},"
        f"CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"INTERNAL://127.0.0.1:{internal},SASL_SSL://127.0.0.1:{secure}",
        "listener.security.protocol.map": "INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL,"
        "CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "INTERNAL",
        "controller.listener.names": "CONTROLLER",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
        "log.dirs": str(directory / "data"),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "auto.create.topics.enable": "false",
    }
    path = directory / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    return path


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    java = shutil.which("java")
    assert java and shutil.which("openssl"), "make setup installs java and openssl"
    directory = tmp_path_factory.mktemp("secure-kafka")
    ca_file, keystore = _certificates(directory)
    ports = _free_ports(3)
    config = _broker_config(directory, ports, keystore)
    classpath = f"{find_project_dir() / '.rtap' / 'jars' / 'kafka'}/*"
    scram = f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"
    subprocess.run(
        [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
         f"--cluster-id={_kafka_uuid()}", "-c", str(config), "--standalone",
         "--add-scram", scram],
        check=True, capture_output=True,
    )  # fmt: skip
    log = (directory / "broker.out").open("wb")
    process = subprocess.Popen(
        [java, "-Xmx512m", "-cp", classpath, "kafka.Kafka", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    secure = SecureBroker(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", ca_file)
    try:
        _wait_for_broker(secure, process)
        admin = AdminClient(client_config(secure.internal))
        topic = NewTopic(TOPIC, num_partitions=1, replication_factor=1)
        admin.create_topics([topic])[TOPIC].result(30)
        yield secure
    finally:
        process.kill()
        process.wait(30)
        log.close()


def _wait_for_broker(secure: SecureBroker, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    port = int(secure.secure.rsplit(":", 1)[1])
    while not port_in_use(port):
        assert process.poll() is None, "the broker exited; see broker.out"
        assert time.monotonic() < deadline, "the broker did not open its SASL_SSL port"
        time.sleep(0.5)
    AdminClient(client_config(secure.internal)).list_topics(timeout=30)


def _produce(secure: SecureBroker, password: str, value: bytes) -> None:
    config = client_config(secure.secure, **kafka_security(secure.environ(password)))
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
    wrong = client_config(broker.secure, **kafka_security(broker.environ("not-the-password")))
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
            .options(**spark_kafka_options(broker.environ()))
            .load()
            .select("value")
            .collect()
        )
    finally:
        spark.stop()
    assert marker in [bytes(row.value) for row in rows]
