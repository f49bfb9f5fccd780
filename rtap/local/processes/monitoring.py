"""The local platform's monitoring: a real Prometheus (3.16.0, built from its Go module)
that scrapes the engines and evaluates the same alert rules the stack deploys, and the
Redis exporter it scrapes. Both on loopback ports of rtap:local."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from infra.monitoring.rules import RULE_FILE_NAME, rendered_rules
from rtap.go_tools import built_tools
from rtap.local.paths import RunPaths
from rtap.local.processes.registry import ProcessRegistry, wait_until
from workloads.settings import WorkloadSettings

PROMETHEUS = "prometheus"
REDIS_EXPORTER = "redis-exporter"
# A JMX scrape costs the broker far more than the other scrapes cost theirs: the broker
# is scraped this many times less often.
KAFKA_INTERVAL_FACTOR = 3


def scrape_configs(settings: WorkloadSettings) -> list[dict[str, Any]]:
    """The jobs, named as the cluster's PodMonitors name them (infra/components/monitoring.py):
    the platform process serves the API's and the streaming job's series on one port."""
    local = settings.local
    interval = f"{local.monitoring_interval_seconds}s"

    def job(name: str, port: int, every: str = interval) -> dict[str, Any]:
        return {
            "job_name": name,
            "scrape_interval": every,
            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
        }

    return [
        job("rtap-api", local.platform_port),
        job(
            "kafka",
            local.kafka_metrics_port,
            f"{local.monitoring_interval_seconds * KAFKA_INTERVAL_FACTOR}s",
        ),
        job("redis", local.redis_exporter_port),
        job("prometheus", local.prometheus_port),
    ]


class LocalPrometheus:
    def __init__(self, settings: WorkloadSettings, paths: RunPaths) -> None:
        self._settings = settings
        self._paths = paths
        self.url = f"http://127.0.0.1:{settings.local.prometheus_port}"

    @property
    def folder(self) -> Path:
        return self._paths.root / "prometheus"

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / RULE_FILE_NAME).write_text(
            yaml.safe_dump(rendered_rules(self._settings), sort_keys=False)
        )
        every = f"{self._settings.local.monitoring_interval_seconds}s"
        config = {
            "global": {"scrape_interval": every, "evaluation_interval": every},
            "rule_files": [RULE_FILE_NAME],
            "scrape_configs": scrape_configs(self._settings),
        }
        path = self.folder / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self, registry: ProcessRegistry) -> subprocess.Popen[bytes]:
        config = self.write_config()
        argv = [
            str(built_tools("prometheus") / "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{self._settings.local.prometheus_port}",
        ]
        return registry.start(PROMETHEUS, argv, self._paths.logs / "prometheus.log")

    def wait_ready(self, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
        wait_until(
            self.is_ready,
            timeout_s,
            f"Prometheus on {self.url} (log: {self._paths.logs / 'prometheus.log'})",
            alive=lambda: process.poll() is None,
        )

    def is_ready(self) -> bool:
        return _answers(f"{self.url}/-/ready")


def start_redis_exporter(
    settings: WorkloadSettings, paths: RunPaths, registry: ProcessRegistry, redis_url: str
) -> subprocess.Popen[bytes]:
    port = settings.local.redis_exporter_port
    process = registry.start(
        REDIS_EXPORTER,
        [sys.executable, "-m", "rtap.local.platform.redis_exporter", str(port)],
        paths.logs / "redis-exporter.log",
        # The URL carries the password: in the environment, not argv, where `ps` shows it.
        env={**os.environ, "REDIS_URL": redis_url},
    )
    wait_until(
        lambda: _answers(f"http://127.0.0.1:{port}/metrics"),
        30.0,
        f"the Redis exporter on port {port}",
        alive=lambda: process.poll() is None,
    )
    return process


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).is_success
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class ActiveAlert:
    name: str
    state: str  # pending (its `for:` not yet elapsed) or firing
    severity: str
    summary: str


def active_alerts(settings: WorkloadSettings) -> list[ActiveAlert] | None:
    """The local Prometheus' pending and firing alerts; None if it does not answer."""
    url = f"http://127.0.0.1:{settings.local.prometheus_port}/api/v1/alerts"
    try:
        found = httpx.get(url, timeout=2).json()["data"]["alerts"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return sorted(
        (
            ActiveAlert(
                a["labels"]["alertname"],
                a["state"],
                a["labels"].get("severity", ""),
                a.get("annotations", {}).get("summary", ""),
            )
            for a in found
        ),
        key=lambda alert: (alert.state != "firing", alert.name),
    )
