"""redis-server on a loopback port, with a password, started and owned by rtap."""

from __future__ import annotations

import os
import subprocess

import redis

from rtap.local.paths import RunPaths
from rtap.local.processes.registry import ProcessRegistry, wait_until
from workloads.settings import WorkloadSettings

NAME = "redis"


class LocalRedis:
    def __init__(self, settings: WorkloadSettings, paths: RunPaths, executable: str, password: str):
        self._port = settings.local.redis_port
        self._paths = paths
        self._executable = executable
        self._password = password

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self._port, password=self._password, socket_timeout=2
        )

    def start(self, registry: ProcessRegistry) -> subprocess.Popen[bytes]:
        # The password goes in a 0600 file, not argv, where `ps` would show it.
        config = self._paths.redis_data / "redis.conf"
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(
                f"port {self._port}\nbind 127.0.0.1\nprotected-mode yes\n"
                f"requirepass {self._password}\ndir {self._paths.redis_data}\n"
                'save ""\nappendonly no\n'
            )
        return registry.start(NAME, [self._executable, str(config)], self._paths.logs / "redis.log")

    def wait_ready(self, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
        wait_until(
            self.is_ready,
            timeout_s,
            f"redis-server on port {self._port}",
            alive=lambda: process.poll() is None,
        )

    def is_ready(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False
