"""The local platform as a whole: Kafka broker, redis-server, the platform process and
the sessions process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from rtap.local import kafka_broker, redis_server
from rtap.local.control_client import ControlClient
from rtap.local.kafka_broker import LocalKafka
from rtap.local.paths import RunPaths
from rtap.local.prerequisites import (
    PrerequisiteError,
    free_ports,
    jars,
    java_executable,
    redis_executable,
)
from rtap.local.processes import ProcessRegistry
from rtap.local.redis_server import LocalRedis, redis_url
from rtap.local.secrets import LocalSecrets
from rtap.local.status_file import StatusFile
from rtap.settings import SETTINGS_FILE_VARIABLE, StackSettings
from workloads.kafka import ensure_topics
from workloads.serving.auth import KeyStore

log = structlog.get_logger(__name__)

PLATFORM = "platform"
SESSIONS = "sessions"
# Stopped in this order: the platform first, so its last batch commits while Kafka is up.
# Sessions the sessions process hands over after that wait in its outbox for the next
# start.
COMPONENTS = (PLATFORM, SESSIONS, redis_server.NAME, kafka_broker.NAME)
Report = Callable[[str], None]


class StartupError(RuntimeError):
    """A component did not come up; the message says which and where its log is."""


class LocalStack:
    def __init__(self, settings: StackSettings, project_dir: Path, stack: str = "local") -> None:
        self.settings = settings
        self.stack = stack
        self.project_dir = project_dir
        self.paths = RunPaths.for_stack(settings, project_dir)
        self.registry = ProcessRegistry(self.paths.pids)
        self._platform: subprocess.Popen[bytes] | None = None

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
        java, redis_exe = java_executable(), redis_executable()
        kafka_jars = self.paths.kafka_jars
        jars(kafka_jars, "Kafka broker")
        jars(self.paths.spark_jars, "Spark Kafka connector")
        local = self.settings.local
        free_ports(
            {
                "kafkaPort": local.kafka_port,
                "kafkaControllerPort": local.kafka_controller_port,
                "redisPort": local.redis_port,
                "platformPort": local.platform_port,
            }
        )
        self.paths.ensure()
        secrets = LocalSecrets.load_or_create(self.paths.secrets_file)
        timeout = float(local.startup_timeout_seconds)

        report("starting Kafka broker (KRaft)")
        kafka = LocalKafka(self.settings, self.paths, java, kafka_jars)
        kafka.wait_ready(timeout, kafka.start(self.registry))
        report("creating topics")
        created = ensure_topics(self.bootstrap, self.settings.kafka)
        log.info("topics ready", created=created)

        report("starting redis-server")
        redis = LocalRedis(self.settings, self.paths, redis_exe, secrets.redis_password)
        redis.wait_ready(timeout, redis.start(self.registry))
        # The two Spark processes start side by side; the sessions one at low priority.
        sessions = self.start_sessions()
        self.start_platform(report)
        report("waiting for the sessions query")
        self.wait_for_sessions(sessions)

    def start_sessions(self) -> subprocess.Popen[bytes]:
        """Start the sessions process (the sessions query); `wait_for_sessions` waits."""
        # Two drivers must never share a checkpoint: whatever a crash left goes first.
        self.registry.stop(SESSIONS, timeout_s=30.0, force=True)
        self.paths.sessions_status.unlink(missing_ok=True)
        return self.registry.start(
            SESSIONS,
            [sys.executable, "-m", "rtap.local.sessions_process"],
            self.paths.logs / "sessions.log",
            env=self._child_env(),
            cwd=self.project_dir,
        )

    def wait_for_sessions(self, process: subprocess.Popen[bytes]) -> None:
        status = StatusFile(self.paths.sessions_status)
        deadline = time.monotonic() + self.settings.local.startup_timeout_seconds
        reason = "the sessions process did not start in time"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                reason = "the sessions process exited"
                break
            current = status.read()
            if current is not None and current["state"] == "running":
                return
            if current is not None and current["state"] == "failed":
                reason = str(current["detail"])
                break
            time.sleep(0.3)
        raise StartupError(_failure(SESSIONS, reason, self.paths.logs / "sessions.log"))

    def start_platform(self, report: Report, extra_env: dict[str, str] | None = None) -> None:
        """Start the platform process and wait until its ingest query runs."""
        self._reap_platform()
        self._platform = self.registry.start(
            PLATFORM,
            [sys.executable, "-m", "rtap.local.platform"],
            self.paths.logs / "platform.log",
            env=self._child_env(extra_env),
            cwd=self.project_dir,
        )
        client = self.control()
        deadline = time.monotonic() + self.settings.local.startup_timeout_seconds
        last = ""
        while time.monotonic() < deadline:
            if self._platform.poll() is not None:
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
        settings_file = self.paths.root / "settings.json"
        settings_file.write_text(self.settings.model_dump_json(by_alias=True))
        return {
            **os.environ,
            "RTAP_PROJECT_DIR": str(self.project_dir),
            SETTINGS_FILE_VARIABLE: str(settings_file),
            **(extra_env or {}),
        }

    def platform_running(self) -> bool:
        """Whether the platform process itself (not its leftover JVM) is alive."""
        return self._platform is not None and self._platform.poll() is None

    def stop_platform(self) -> None:
        """Stop the platform process alone, cleanly (Kafka and Redis keep running)."""
        self.registry.stop(PLATFORM, timeout_s=30.0)
        self._platform = None

    def redis_url(self) -> str:
        secrets = LocalSecrets.load_or_create(self.paths.secrets_file)
        return redis_url(self.settings.local.redis_port, secrets.redis_password)

    def kill_platform(self) -> None:
        """kill -9 the platform process alone, as a crash would (its JVM notices and exits)."""
        if self._platform is not None:
            self._platform.kill()
            self._platform.wait()

    def kill_sessions(self) -> None:
        """kill -9 the sessions process and its JVM, as a crash would."""
        self.registry.stop(SESSIONS, force=True)

    def stop(self, report: Report | None = None) -> list[str]:
        """Stop every component rtap started here, by pid; returns those that were running."""
        stopped = []
        for name in COMPONENTS:
            if self.registry.is_running(name) and report is not None:
                report(f"stopping {name}")
            if self.registry.stop(name, timeout_s=30.0):
                stopped.append(name)
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
