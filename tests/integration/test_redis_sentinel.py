"""The cluster's Redis client against real redis-server processes in Sentinel mode:
it finds the primary through the Sentinel, and follows a failover by itself."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.conftest import _free_ports
from workloads.redis_client import connect_redis, sentinel_url

PASSWORD = "sentinel-test-password"
MASTER_SET = "rtap"


class RedisGroup:
    """A primary, a replica and one Sentinel on loopback ports, stopped at the end."""

    def __init__(self, root: Path) -> None:
        self.primary, self.replica, self.sentinel = _free_ports(3)
        self._root = root
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        executable = shutil.which("redis-server")
        assert executable, "redis-server is installed by make setup"
        self._executable = executable

    def start(self) -> None:
        auth = ["--requirepass", PASSWORD, "--masterauth", PASSWORD, "--save", ""]
        self._run(self.primary, ["--port", str(self.primary), *auth])
        self._run(
            self.replica,
            ["--port", str(self.replica), "--replicaof", "127.0.0.1", str(self.primary), *auth],
        )
        config = self._root / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel}\nbind 127.0.0.1\nrequirepass {PASSWORD}\n"
            f"sentinel monitor {MASTER_SET} 127.0.0.1 {self.primary} 1\n"
            f"sentinel auth-pass {MASTER_SET} {PASSWORD}\n"
            f"sentinel down-after-milliseconds {MASTER_SET} 1000\n"
            f"sentinel failover-timeout {MASTER_SET} 5000\n"
        )
        self._run(self.sentinel, [str(config), "--sentinel"])
        for port in (self.primary, self.replica, self.sentinel):
            _wait_for(self.direct(port).ping)
        _wait_for(lambda: replication(self.direct(self.replica))["master_link_status"] == "up")
        # The Sentinel learns of replicas from the primary's INFO, every ten seconds; a
        # primary lost before that leaves it nothing to promote.
        sentinel = self.direct(self.sentinel)
        _wait_for(lambda: known_replicas(sentinel) == 1)

    def _run(self, port: int, args: list[str]) -> None:
        directory = self._root / str(port)
        directory.mkdir()
        self._processes[port] = subprocess.Popen(
            [self._executable, *args, "--dir", str(directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self, port: int) -> None:
        self._processes[port].kill()
        self._processes[port].wait(10)

    def direct(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=PASSWORD, socket_timeout=1)

    def stop(self) -> None:
        for process in self._processes.values():
            process.kill()
            process.wait(10)


def replication(client: redis.Redis) -> dict[str, Any]:
    info: dict[str, Any] = client.info("replication")
    return info


def known_replicas(sentinel: redis.Redis) -> int:
    # redis-py leaves execute_command and the sentinel_* helpers unannotated.
    replicas = sentinel.execute_command(  # type: ignore[no-untyped-call]
        "SENTINEL", "REPLICAS", MASTER_SET
    )
    return len(replicas)


def _wait_for(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("redis did not reach the expected state in time")
        time.sleep(0.2)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[RedisGroup]:
    redis_group = RedisGroup(tmp_path)
    redis_group.start()
    try:
        yield redis_group
    finally:
        redis_group.stop()


def test_client_writes_to_the_primary_the_sentinel_names(group: RedisGroup) -> None:
    url = sentinel_url(f"127.0.0.1:{group.sentinel}", MASTER_SET, PASSWORD)
    client = connect_redis(url, socket_timeout=1)
    client.set("rtap:probe", "written through the sentinel")
    assert group.direct(group.primary).get("rtap:probe") == b"written through the sentinel"


def test_client_follows_a_failover_to_the_promoted_replica(group: RedisGroup) -> None:
    url = sentinel_url(f"127.0.0.1:{group.sentinel}", MASTER_SET, PASSWORD)
    client = connect_redis(url, socket_timeout=1)
    client.set("rtap:before", "1")
    # Replication is asynchronous: wait until the replica has the write before the kill.
    assert client.wait(1, 5_000) == 1
    group.kill(group.primary)

    def promoted() -> bool:
        return bool(client.set("rtap:after", "2"))

    _wait_for(promoted, timeout=30)
    replica = group.direct(group.replica)
    assert replication(replica)["role"] == "master"
    assert replica.get("rtap:before") == b"1" and replica.get("rtap:after") == b"2"
