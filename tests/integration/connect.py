"""Kafka Connect's worker as Strimzi runs it for the KafkaConnect the program declares:
the same group, storage topics and SCRAM-over-TLS login, started on loopback from the
jars `make jars` fetches (jvm/connect/pom.xml)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from core.ports import free_ports
from core.stack_config import find_project_dir

JARS = find_project_dir() / ".rtap" / "jars" / "connect"
# INFO and up to the worker's output, which the tests read.
_LOGGING = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
"""


def worker_properties(spec: dict[str, Any], bootstrap: str, password: str, ca_file: Path) -> str:
    """What Strimzi writes for a KafkaConnect `spec`, pointed at a local broker (one
    replica for the storage topics: the broker is alone)."""
    user = spec["authentication"]["username"]
    login = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{password}";'
    )
    security = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": login,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca_file),
    }
    properties: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": spec["groupId"],
        "config.storage.topic": spec["configStorageTopic"],
        "offset.storage.topic": spec["offsetStorageTopic"],
        "status.storage.topic": spec["statusStorageTopic"],
        **{k: 1 if k.endswith("replication.factor") else v for k, v in spec["config"].items()},
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        **security,
        # The worker's own producers and consumers log in the same way, as Strimzi sets.
        **{f"{client}.{k}": v for client in ("producer", "consumer") for k, v in security.items()},
    }
    return "".join(f"{k}={v}\n" for k, v in properties.items())


@contextmanager
def running_worker(properties: str, directory: Path, timeout: float = 90) -> Iterator[str]:
    """The worker; yields its REST URL once it reports itself healthy (GET /health, which
    answers 200 only when the worker has joined its group and read its config topic), or
    raises TimeoutError with the end of its log."""
    java = shutil.which("java")
    assert java, "make setup installs java"
    (port,) = free_ports(1)
    config = directory / "worker.properties"
    config.write_text(properties + f"listeners=http://127.0.0.1:{port}\n")
    log = directory / "connect.log"
    logging = directory / "log4j2.properties"
    logging.write_text(_LOGGING)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [java, "-Xmx512m", f"-Dlog4j2.configurationFile={logging}", "-cp", f"{JARS}/*",
             "org.apache.kafka.connect.cli.ConnectDistributed", str(config)],
            stdout=output, stderr=output,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == httpx.codes.OK:
                    yield url
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise TimeoutError(f"Connect was not ready within {timeout:.0f} s; its log ends:\n{tail}")
    finally:
        process.kill()
        process.wait(30)
