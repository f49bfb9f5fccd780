"""A real broker as a cluster's Kafka looks to its clients: SCRAM-SHA-512 over TLS.

A SASL_SSL listener with a throwaway CA and server certificate from openssl, SCRAM users
created when the storage is formatted (as Strimzi does for KafkaUsers), and a plaintext
listener for the tests' own set-up. With `acls=True` the broker runs Kafka's
StandardAuthorizer: a SCRAM user may do only what an ACL allows, while the plaintext
listener's anonymous principal, the tests' own, is a super user.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from core.ports import free_ports
from core.stack_config import find_project_dir
from rtap.local.prerequisites import port_in_use
from rtap.local.processes.kafka_broker import _kafka_uuid
from workloads.kafka import client_config


@dataclass(frozen=True)
class SecureBroker:
    internal: str  # plaintext, for the test's own set-up
    secure: str  # SASL_SSL, what the workloads use
    ca_file: Path

    def environ(self, user: str, password: str) -> dict[str, str]:
        """What a workload container gets from the Pulumi program (workloads/cluster_env)."""
        return {
            "KAFKA_BOOTSTRAP": self.secure,
            "KAFKA_USERNAME": user,
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


def _broker_config(directory: Path, ports: list[int], keystore: Path, acls: bool) -> Path:
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
    if acls:
        # As Strimzi's `authorization: simple`: KRaft's authorizer, deny unless allowed.
        # The plaintext listeners (the controller, the tests' set-up) are anonymous.
        properties |= {
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        }
    path = directory / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    return path


@contextmanager
def secure_broker(
    directory: Path, users: Mapping[str, str], *, acls: bool = False
) -> Iterator[SecureBroker]:
    """A broker with a SCRAM user per `users` entry (name → password), stopped after."""
    java = shutil.which("java")
    assert java and shutil.which("openssl"), "make setup installs java and openssl"
    ca_file, keystore = _certificates(directory)
    ports = free_ports(3)
    config = _broker_config(directory, ports, keystore, acls)
    classpath = f"{find_project_dir() / '.rtap' / 'jars' / 'kafka'}/*"
    scram = [
        argument
        for user, password in users.items()
        for argument in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")
    ]
    subprocess.run(
        [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
         f"--cluster-id={_kafka_uuid()}", "-c", str(config), "--standalone", *scram],
        check=True, capture_output=True,
    )  # fmt: skip
    log = (directory / "broker.out").open("wb")
    process = subprocess.Popen(
        [java, "-Xmx512m", "-cp", classpath, "kafka.Kafka", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    broker = SecureBroker(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", ca_file)
    try:
        _wait_for_broker(broker, process)
        yield broker
    finally:
        process.kill()
        process.wait(30)
        log.close()


def _wait_for_broker(broker: SecureBroker, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    port = int(broker.secure.rsplit(":", 1)[1])
    while not port_in_use(port):
        assert process.poll() is None, "the broker exited; see broker.out"
        assert time.monotonic() < deadline, "the broker did not open its SASL_SSL port"
        time.sleep(0.5)
    AdminClient(client_config(broker.internal)).list_topics(timeout=30)
