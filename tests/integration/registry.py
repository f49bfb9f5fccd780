"""The schema registry the cluster runs (Apicurio's Quarkus application, the version of
rtap:kafkaCluster.schemaRegistryImage, fetched by `make jars`), started on loopback with
the environment the Pulumi program gives its Deployment."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from core.ports import free_ports
from core.stack_config import find_project_dir

APPLICATION = find_project_dir() / ".rtap" / "jars" / "registry" / "quarkus-run.jar"
MIN_JAVA = 21


def java_21() -> str:
    """A `java` of version 21 or newer (the registry's classes are built for 21)."""
    candidates = [Path(os.environ.get("JAVA_HOME", "/nonexistent")) / "bin" / "java"]
    candidates += sorted(Path("/usr/lib/jvm").glob("*/bin/java"), reverse=True)
    for java in candidates:
        if not java.exists():
            continue
        shown = subprocess.run(
            [str(java), "-version"], check=False, capture_output=True, text=True
        ).stderr
        match = re.search(r'version "(\d+)', shown)
        if match and int(match[1]) >= MIN_JAVA:
            return str(java)
    raise AssertionError(
        "the schema registry needs Java 21 or newer: install one (Temurin 21, or "
        "`apt-get install openjdk-21-jre-headless` where Debian has it) or set JAVA_HOME"
    )


def local_environment(
    declared: list[dict[str, Any]], bootstrap: str, jaas: str, ca_file: Path
) -> dict[str, str]:
    """The Deployment's env, its cluster addresses and Secrets replaced by the local ones."""
    local = {
        "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS": bootstrap,
        "APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG": jaas,
        "APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_LOCATION": str(ca_file),
    }
    environment = {}
    for variable in declared:
        name = variable["name"]
        if "value" not in variable and name not in local:
            raise AssertionError(f"{name} comes from a Secret this test does not know")
        environment[name] = local.get(name, variable.get("value", ""))
    return environment


@contextmanager
def running_registry(
    environment: dict[str, str], log: Path, timeout: float = 90
) -> Iterator[httpx.Client]:
    """The registry with `environment`; yields a client of its API once it is ready, or
    raises TimeoutError with the end of its log after `timeout` seconds."""
    http, management = free_ports(2)
    process_env = {
        **os.environ,
        **environment,
        "QUARKUS_HTTP_HOST": "127.0.0.1",
        "QUARKUS_HTTP_PORT": str(http),
        "QUARKUS_MANAGEMENT_HOST": "127.0.0.1",
        "QUARKUS_MANAGEMENT_PORT": str(management),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [java_21(), "-jar", str(APPLICATION)], env=process_env, stdout=output, stderr=output
        )
    try:
        _await_ready(f"http://127.0.0.1:{management}/health/ready", process, log, timeout)
        with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=30) as client:
            yield client
    finally:
        process.kill()
        process.wait(30)


def _await_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=2).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise TimeoutError(f"the registry was not ready within {timeout:.0f} s; its log ends:\n{tail}")
