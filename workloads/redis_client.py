"""Redis clients from one URL, whether Redis is one server or a Sentinel-watched group.

`redis://…` is one server (the local platform). `redis+sentinel://:PASSWORD@H1:P1,H2:P2/
MASTERSET` names Sentinels; the client asks them for the current primary and follows a
failover by itself. The password serves the Sentinels and the data nodes alike, as the
cluster's Redis is set up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import redis
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel://"
# redis-py leaves its Sentinel client unannotated.
_Sentinel: Any = Sentinel


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master_set: str
    password: str | None


def sentinel_url(sentinels: str, master_set: str, password: str | None) -> str:
    """The URL for `sentinels` given as host:port[,host:port…]."""
    credentials = f":{quote(password, safe='')}@" if password else ""
    return f"{SENTINEL_SCHEME}{credentials}{sentinels}/{master_set}"


def parse_sentinel_url(url: str) -> SentinelTarget:
    body = url.removeprefix(SENTINEL_SCHEME)
    credentials, _, rest = body.rpartition("@")
    hosts, slash, master_set = rest.partition("/")
    if not slash or not master_set or not hosts:
        raise ValueError(f"{SENTINEL_SCHEME} URL needs host:port[,host:port]/MASTERSET")
    sentinels = []
    for host_port in hosts.split(","):
        host, colon, port = host_port.rpartition(":")
        if not colon or not port.isdigit():
            raise ValueError(f"sentinel {host_port!r} is not host:port")
        sentinels.append((host, int(port)))
    password = unquote(credentials.partition(":")[2]) if credentials else None
    return SentinelTarget(tuple(sentinels), master_set, password or None)


def connect_redis(url: str, **options: Any) -> redis.Redis:
    """A client for `url`; `options` (timeouts, health checks) go to the data connection."""
    if not url.startswith(SENTINEL_SCHEME):
        return redis.Redis.from_url(url, **options)
    target = parse_sentinel_url(url)
    timeout = options.get("socket_timeout")
    sentinel = _Sentinel(
        list(target.sentinels),
        sentinel_kwargs={"password": target.password, "socket_timeout": timeout},
        password=target.password,
    )
    client: redis.Redis = sentinel.master_for(target.master_set, **options)
    return client
