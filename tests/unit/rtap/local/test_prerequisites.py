"""Checks of what the local platform needs."""

from __future__ import annotations

import socket

from rtap.local.prerequisites import port_in_use


def test_port_in_use() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_in_use(port)
    assert not port_in_use(port)
