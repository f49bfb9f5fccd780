"""A single Apache Kafka broker in KRaft mode, run with java from Maven-fetched jars."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from infra.manifests import MANIFESTS
from rtap.local.paths import RunPaths
from rtap.local.prerequisites import PrerequisiteError, port_in_use
from rtap.local.processes.registry import ProcessRegistry, wait_until
from workloads.kafka import client_config
from workloads.settings import WorkloadSettings

NAME = "kafka"


class LocalKafka:
    def __init__(self, settings: WorkloadSettings, paths: RunPaths, java: str, jars: Path) -> None:
        self._settings = settings
        self._paths = paths
        self._java = java
        self._jars = jars
        self._classpath = f"{jars}/*"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self._settings.local.kafka_port}"

    @property
    def config_path(self) -> Path:
        return self._paths.kafka_data / "server.properties"

    def start(self, registry: ProcessRegistry) -> subprocess.Popen[bytes]:
        self._write_config()
        self._format_storage_once()
        heap = f"{self._settings.local.kafka_heap_mb}m"
        argv = [
            self._java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile=file:{self._paths.jvm_config / 'log4j2.properties'}",
            f"-Drtap.log.file={self._paths.logs / 'kafka-server.log'}",
            # Prometheus' JMX exporter with the rules Strimzi's brokers use in the cluster,
            # so the local series carry the names the alerts use.
            f"-javaagent:{self._jmx_agent()}=127.0.0.1:{self._settings.local.kafka_metrics_port}"
            f":{MANIFESTS / 'kafka-metrics.yaml'}",
            "-cp",
            self._classpath,
            "kafka.Kafka",
            str(self.config_path),
        ]
        return registry.start(NAME, argv, self._paths.logs / "kafka.out")

    def _jmx_agent(self) -> Path:
        found = sorted(self._jars.glob("jmx_prometheus_javaagent-*.jar"))
        if not found:
            raise PrerequisiteError(
                f"no JMX exporter agent in {self._jars}: run `make setup` (jvm/kafka/pom.xml)"
            )
        return found[-1]

    def wait_ready(self, timeout_s: float, alive: subprocess.Popen[bytes]) -> None:
        wait_until(
            self.is_ready,
            timeout_s,
            f"Kafka broker on {self.bootstrap} (log: {self._paths.logs / 'kafka-server.log'})",
            interval_s=0.5,
            alive=lambda: alive.poll() is None,
        )

    def is_ready(self) -> bool:
        if not port_in_use(self._settings.local.kafka_port):
            return False
        try:
            AdminClient(client_config(self.bootstrap)).list_topics(timeout=2)
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        return True

    def _write_config(self) -> None:
        local = self._settings.local
        data = self._paths.kafka_data / "data"
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{local.kafka_controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{local.kafka_port},"
            f"CONTROLLER://127.0.0.1:{local.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{local.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            # One broker: internal topics cannot be replicated.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created by rtap with the stack's partitions and retention.
            "auto.create.topics.enable": "false",
        }
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))

    def _format_storage_once(self) -> None:
        if (self._paths.kafka_data / "data" / "meta.properties").exists():
            return
        cluster_id = _kafka_uuid()
        result = subprocess.run(
            [
                self._java,
                "-cp",
                self._classpath,
                "kafka.tools.StorageTool",
                "format",
                # `=` form: a base64 id may start with "-", which would read as an option.
                f"--cluster-id={cluster_id}",
                "-c",
                str(self.config_path),
                "--standalone",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")


def _kafka_uuid() -> str:
    """A cluster id in Kafka's format: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
