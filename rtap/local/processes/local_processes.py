"""The processes of the local platform, as one set: the Kafka broker, redis-server, the
platform process, the sessionizer process, and Prometheus with the Redis exporter. They
start in order, stop in order, and each can be restarted (by the supervisor) or killed
(by a drill) on its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from core.handoff import SETTINGS_FILE_VARIABLE, write_settings_file
from rtap.go_tools import built_tools
from rtap.local.paths import RunPaths
from rtap.local.platform.control_client import ControlClient
from rtap.local.prerequisites import (
    PrerequisiteError,
    free_ports,
    jars,
    java_executable,
    redis_executable,
)
from rtap.local.processes import kafka_broker, redis_server
from rtap.local.processes.kafka_broker import LocalKafka
from rtap.local.processes.monitoring import (
    PROMETHEUS,
    REDIS_EXPORTER,
    LocalPrometheus,
    start_redis_exporter,
)
from rtap.local.processes.redis_server import LocalRedis
from rtap.local.processes.registry import ProcessRegistry
from rtap.local.secrets import LocalSecrets
from rtap.local.status_file import StatusFile
from workloads.kafka import ensure_topics
from workloads.serving.auth import KeyStore
from workloads.settings import WorkloadSettings

log = structlog.get_logger(__name__)

PLATFORM = "platform"
# The sessionizer process; `rtap status` and `rtap drill --kill` call it by what it makes.
SESSIONIZER = "sessions"
# Stopped in this order: the platform first, so its last batch commits while Kafka is up.
# Sessions the sessionizer hands over after that wait in its outbox for the next start.
COMPONENTS = (
    PLATFORM,
    SESSIONIZER,
    PROMETHEUS,
    REDIS_EXPORTER,
    redis_server.NAME,
    kafka_broker.NAME,
)
Report = Callable[[str], None]


class StartupError(RuntimeError):
    """A component did not come up; the message says which and where its log is."""


class LocalProcesses:
    """The local platform's processes, started from `settings` in `project_dir`."""

    def __init__(self, settings: WorkloadSettings, project_dir: Path) -> None:
        self.settings = settings
        self.project_dir = project_dir
        self.paths = RunPaths.of(settings, project_dir)
        self.registry = ProcessRegistry(self.paths.pids)
        # The leader process of each component started from here, by name.
        self._leaders: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.local.kafka_port}"

    def running_components(self) -> list[str]:
        return [name for name in COMPONENTS if self.registry.is_running(name)]

    def start(self, report: Report) -> None:
        """Bring everything up, or fail with one line that says what to do."""
        running = self.running_components()
        if running:
            raise PrerequisiteError(
                f"rtap is already running here ({', '.join(running)}): "
                "see `rtap status`, or stop it with `rtap down`"
            )
        # Each raises, saying what to install, when its program is missing; Prometheus is
        # built from its Go module first if this machine has none yet (minutes, once).
        java_executable()
        redis_executable()
        built_tools("prometheus")
        jars(self.paths.kafka_jars, "Kafka broker")
        jars(self.paths.spark_jars, "Spark Kafka connector")
        local = self.settings.local
        free_ports(
            {
                "kafkaPort": local.kafka_port,
                "kafkaControllerPort": local.kafka_controller_port,
                "redisPort": local.redis_port,
                "platformPort": local.platform_port,
                "prometheusPort": local.prometheus_port,
                "kafkaMetricsPort": local.kafka_metrics_port,
                "redisExporterPort": local.redis_exporter_port,
            }
        )
        self.paths.ensure()
        report("starting Kafka broker (KRaft)")
        self.start_kafka()
        report("creating topics")
        created = ensure_topics(self.bootstrap, self.settings.kafka)
        log.info("topics ready", created=created)
        report("starting redis-server")
        self.start_redis()
        self.start_redis_exporter()
        # The two Spark processes start side by side; the sessionizer at low priority.
        sessionizer = self.start_sessionizer()
        self.start_platform(report)
        report("waiting for the sessions query")
        self.wait_for_sessionizer(sessionizer)
        report("starting Prometheus")
        self.start_prometheus()

    def start_kafka(self) -> None:
        self.registry.stop(kafka_broker.NAME, force=True)  # whatever a crash left behind
        kafka = LocalKafka(self.settings, self.paths, java_executable(), self.paths.kafka_jars)
        process = self._leaders[kafka_broker.NAME] = kafka.start(self.registry)
        kafka.wait_ready(float(self.settings.local.startup_timeout_seconds), process)

    def start_redis(self) -> None:
        self.registry.stop(redis_server.NAME, force=True)
        password = LocalSecrets.load_or_create(self.paths.secrets_file).redis_password
        redis = LocalRedis(self.settings, self.paths, redis_executable(), password)
        process = self._leaders[redis_server.NAME] = redis.start(self.registry)
        redis.wait_ready(float(self.settings.local.startup_timeout_seconds), process)

    def start_redis_exporter(self) -> None:
        self.registry.stop(REDIS_EXPORTER, force=True)
        self._leaders[REDIS_EXPORTER] = start_redis_exporter(
            self.settings, self.paths, self.registry, self.redis_url()
        )

    def start_prometheus(self) -> None:
        self.registry.stop(PROMETHEUS, force=True)
        prometheus = LocalPrometheus(self.settings, self.paths)
        process = self._leaders[PROMETHEUS] = prometheus.start(self.registry)
        prometheus.wait_ready(float(self.settings.local.startup_timeout_seconds), process)

    def alive(self, name: str) -> bool:
        """Whether the component's own process, as started from here, still runs."""
        leader = self._leaders.get(name)
        return leader is not None and leader.poll() is None

    def restart(self, name: str) -> None:
        """Start a component again (after a crash) and wait until it is ready."""
        if name == kafka_broker.NAME:
            self.start_kafka()
        elif name == redis_server.NAME:
            self.start_redis()
        elif name == REDIS_EXPORTER:
            self.start_redis_exporter()
        elif name == PROMETHEUS:
            self.start_prometheus()
        elif name == SESSIONIZER:
            self.wait_for_sessionizer(self.start_sessionizer())
        elif name == PLATFORM:
            self.start_platform(lambda step: log.info("restarting the platform", step=step))
        else:
            raise ValueError(f"no component named {name!r}; known: {', '.join(COMPONENTS)}")

    def start_sessionizer(self) -> subprocess.Popen[bytes]:
        """Start the sessionizer process (the sessions query); `wait_for_sessionizer` waits."""
        # Two drivers must never share a checkpoint: whatever a crash left goes first.
        self.registry.stop(SESSIONIZER, timeout_s=30.0, force=True)
        self.paths.sessionizer_status.unlink(missing_ok=True)
        process = self._leaders[SESSIONIZER] = self.registry.start(
            SESSIONIZER,
            [sys.executable, "-m", "rtap.local.platform.sessionizer"],
            self.paths.logs / "sessions.log",
            env=self._child_env(),
            cwd=self.project_dir,
        )
        return process

    def wait_for_sessionizer(self, process: subprocess.Popen[bytes]) -> None:
        status = StatusFile(self.paths.sessionizer_status)
        deadline = time.monotonic() + self.settings.local.startup_timeout_seconds
        reason = "the sessionizer process did not start in time"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                reason = "the sessionizer process exited"
                break
            current = status.read()
            if current is not None and current["state"] == "running":
                return
            if current is not None and current["state"] == "failed":
                reason = str(current["detail"])
                break
            time.sleep(0.3)
        raise StartupError(_failure(SESSIONIZER, reason, self.paths.logs / "sessions.log"))

    def start_platform(self, report: Report, extra_env: dict[str, str] | None = None) -> None:
        """Start the platform process and wait until its ingest query runs."""
        self._reap_platform()
        platform = self._leaders[PLATFORM] = self.registry.start(
            PLATFORM,
            [sys.executable, "-m", "rtap.local.platform.process"],
            self.paths.logs / "platform.log",
            env=self._child_env(extra_env),
            cwd=self.project_dir,
        )
        client = self.control()
        deadline = time.monotonic() + self.settings.local.startup_timeout_seconds
        last = ""
        while time.monotonic() < deadline:
            if platform.poll() is not None:
                raise StartupError(self._platform_failure("the platform process exited"))
            health = client.health()
            if health is not None:
                if health["state"] == "running":
                    return
                if health["state"] == "failed":
                    raise StartupError(self._platform_failure(str(health["error"])))
                if health["detail"] != last:
                    last = str(health["detail"])
                    report(last)
            time.sleep(0.3)
        raise StartupError(self._platform_failure("the platform did not start in time"))

    def _child_env(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of the processes rtap starts.

        They get the settings this process validated, as a file, so that all agree even
        when they were overridden here (tests, `--rate`).
        """
        settings_file = write_settings_file(
            self.settings.workload_part(), self.paths.root / "settings.json"
        )
        return {
            **os.environ,
            "RTAP_PROJECT_DIR": str(self.project_dir),
            SETTINGS_FILE_VARIABLE: str(settings_file),
            **(extra_env or {}),
        }

    def stop_platform(self) -> None:
        """Stop the platform process alone, cleanly (Kafka and Redis keep running)."""
        self.registry.stop(PLATFORM, timeout_s=30.0)
        self._leaders.pop(PLATFORM, None)

    def redis_url(self) -> str:
        secrets = LocalSecrets.load_or_create(self.paths.secrets_file)
        return secrets.redis_url(self.settings.local.redis_port)

    def kill(self, name: str) -> None:
        """kill -9 a component's whole process group, as a crash (or the OOM killer) would."""
        self.registry.stop(name, force=True)

    def stop(self, report: Report | None = None) -> list[str]:
        """Stop every component rtap started here, by pid; returns those that were running."""
        stopped = []
        for name in COMPONENTS:
            if self.registry.is_running(name) and report is not None:
                report(f"stopping {name}")
            if self.registry.stop(name, timeout_s=30.0):
                stopped.append(name)
        self._leaders.clear()
        return stopped

    def purge(self) -> None:
        """Delete all local data: topics, tables, checkpoints and run records."""
        if self.running_components():
            raise PrerequisiteError("stop rtap before purging its data: `rtap down --purge`")
        shutil.rmtree(self.paths.root, ignore_errors=True)

    def dashboard_key(self) -> str:
        """The local read key (events:read, users:read), created on first use."""
        secrets = LocalSecrets.load_or_create(self.paths.secrets_file)
        updated = secrets.with_dashboard_key(KeyStore(self.paths.api_keys), self.paths.secrets_file)
        if updated.dashboard_key is None:
            raise RuntimeError("no dashboard key after creating one")
        return updated.dashboard_key

    def control(self) -> ControlClient:
        secrets = LocalSecrets.load_or_create(self.paths.secrets_file)
        return ControlClient(self.settings.local.platform_port, secrets.control_token)

    def _reap_platform(self) -> None:
        # A crashed platform may leave its Spark JVM behind for a moment; two drivers on
        # one checkpoint must never overlap, so it is stopped before a new one starts.
        self.registry.stop(PLATFORM, timeout_s=30.0, force=True)

    def _platform_failure(self, reason: str) -> str:
        return _failure(PLATFORM, reason, self.paths.logs / "platform.log")


def _failure(component: str, reason: str, log_path: Path) -> str:
    return f"{component} failed to start: {reason}\n  log: {log_path}\n{_tail(log_path, 8)}"


def _tail(path: Path, lines: int) -> str:
    if not path.is_file():
        return ""
    content = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"  | {line[:300]}" for line in content)
