"""The cluster's Redis group, run on loopback: each node is started by the StatefulSet's
own script (infra/manifests/redis-node.sh) on real redis-server processes, a data node
and a Sentinel per node. The API's client finds the primary through the Sentinels and
follows a failover by itself, and a restarted primary rejoins as a replica."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis

from core.ports import free_ports
from infra.manifests import MANIFESTS
from workloads.redis_client import connect_redis, sentinel_url

PASSWORD = "sentinel-test-password"
MASTER_SET = "rtap"
NODES = 3
SCRIPT = MANIFESTS / "redis-node.sh"


class RedisGroup:
    """Three nodes (data node and Sentinel each) on loopback ports, stopped at the end."""

    def __init__(self, root: Path) -> None:
        ports = free_ports(2 * NODES)
        self.data_ports, self.sentinel_ports = ports[:NODES], ports[NODES:]
        self._root = root
        self._processes: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
        for executable in ("redis-server", "redis-cli", "timeout"):
            assert shutil.which(executable), f"{executable} is installed by make setup"

    def node(self, index: int) -> str:
        # By name, as the pods are known by their DNS names: Sentinel resolves and
        # announces hostnames, and the clients connect to the name it gives them.
        return f"localhost:{self.data_ports[index]}:{self.sentinel_ports[index]}"

    def start(self) -> None:
        for index in range(NODES):
            self.run("server", index)
        for index in range(NODES):
            self.run("sentinel", index)
        for port in (*self.data_ports, *self.sentinel_ports):
            _wait_for(self.direct(port).ping)
        for port in self.data_ports[1:]:
            _wait_for(partial(link_up, self.direct(port)))
        # A Sentinel learns of replicas from the primary's INFO and of its peers through
        # the primary's hello channel; a primary lost before that leaves nothing to promote.
        for port in self.sentinel_ports:
            _wait_for(partial(knows_the_group, self.direct(port)), timeout=30)

    def run(self, role: str, index: int) -> None:
        directory = self._root / f"{role}-{index}"
        directory.mkdir(exist_ok=True)
        environment = {
            **os.environ,
            "NODE_SELF": self.node(index),
            "NODE_PEERS": " ".join(self.node(i) for i in range(NODES)),
            "MASTER_SET": MASTER_SET,
            "REDIS_PASSWORD": PASSWORD,
            "QUORUM": str(NODES // 2 + 1),
            "DATA_DIR": str(directory),
            "CONF_DIR": str(directory),
            "BIND_ADDRESS": "127.0.0.1",
            "DOWN_AFTER_MS": "1000",
            "FAILOVER_TIMEOUT_MS": "5000",
            "SERVER_BIN": "redis-server",
            "CLI_BIN": "redis-cli",
        }
        with (directory / "node.log").open("ab") as log:
            self._processes[(role, index)] = subprocess.Popen(
                ["sh", str(SCRIPT), role], env=environment, stdout=log, stderr=log
            )

    def kill(self, role: str, index: int) -> None:
        process = self._processes.pop((role, index))
        process.kill()
        process.wait(10)

    def direct(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=PASSWORD, socket_timeout=1)

    def stop(self) -> None:
        for process in self._processes.values():
            process.kill()
            process.wait(10)


def replication(client: redis.Redis) -> dict[str, Any]:
    info: dict[str, Any] = client.info("replication")
    return info


def link_up(replica: redis.Redis) -> bool:
    return replication(replica).get("master_link_status") == "up"


def knows_the_group(sentinel: redis.Redis) -> bool:
    return known(sentinel, "REPLICAS") == known(sentinel, "SENTINELS") == NODES - 1


def known(sentinel: redis.Redis, what: str) -> int:
    """How many REPLICAS or SENTINELS of the group a Sentinel knows."""
    # redis-py leaves execute_command and the sentinel_* helpers unannotated.
    members = sentinel.execute_command("SENTINEL", what, MASTER_SET)  # type: ignore[no-untyped-call]
    return len(members)


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
    try:
        redis_group.start()
        yield redis_group
    finally:
        redis_group.stop()


def client_of(group: RedisGroup) -> redis.Redis:
    sentinels = ",".join(f"127.0.0.1:{port}" for port in group.sentinel_ports)
    return connect_redis(sentinel_url(sentinels, MASTER_SET, PASSWORD), socket_timeout=1)


def test_the_first_node_starts_as_the_primary_and_the_others_replicate_it(
    group: RedisGroup,
) -> None:
    client_of(group).set("rtap:probe", "written through the sentinels")
    primary = group.direct(group.data_ports[0])
    assert replication(primary)["role"] == "master"
    assert primary.get("rtap:probe") == b"written through the sentinels"
    for port in group.data_ports[1:]:
        assert replication(group.direct(port))["master_port"] == group.data_ports[0]
    # Every Sentinel names the primary by its hostname, as it will name a pod.
    for port in group.sentinel_ports:
        host, primary_port = group.direct(port).execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_SET
        )
        assert (host, int(primary_port)) == (b"localhost", group.data_ports[0])


def test_client_follows_a_failover_and_the_old_primary_rejoins_as_a_replica(
    group: RedisGroup,
) -> None:
    client = client_of(group)
    client.set("rtap:before", "1")
    # Replication is asynchronous: wait until both replicas have the write before the kill.
    assert client.wait(NODES - 1, 5_000) == NODES - 1
    group.kill("server", 0)

    def promoted() -> bool:
        return bool(client.set("rtap:after", "2"))

    _wait_for(promoted, timeout=30)
    roles = {port: replication(group.direct(port))["role"] for port in group.data_ports[1:]}
    assert sorted(roles.values()) == ["master", "slave"]
    new_primary = next(port for port, role in roles.items() if role == "master")
    assert group.direct(new_primary).get("rtap:before") == b"1"

    # The pod comes back: its script asks the Sentinels, which name the promoted node.
    # Sentinels converge on one primary through their hello channel, and under load a
    # node may first follow a peer that is reconfigured a moment later, so the test
    # waits for the group to settle and then checks what it settled on.
    group.run("server", 0)
    old = group.direct(group.data_ports[0])
    _wait_for(partial(rejoined_as_replica, group, old), timeout=30)
    assert named_primary(group) != group.data_ports[0]
    _wait_for(lambda: old.get("rtap:after") == b"2")


def named_primary(group: RedisGroup) -> int | None:
    """The primary's port if every Sentinel names the same one, else None."""
    named = {
        tuple(
            group.direct(port).execute_command(  # type: ignore[no-untyped-call]
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_SET
            )
        )
        for port in group.sentinel_ports
    }
    if len(named) != 1:
        return None
    (_host, port) = named.pop()
    return int(port)


def rejoined_as_replica(group: RedisGroup, old: redis.Redis) -> bool:
    primary = named_primary(group)
    info = replication(old)
    return (
        primary is not None
        and info["role"] == "slave"
        and info.get("master_port") == primary
        and info.get("master_link_status") == "up"
    )
