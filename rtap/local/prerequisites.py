"""Checks of what the local platform needs, each failing with what to do about it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

_JAVA_VERSION = re.compile(r'version "(\d+)')
MIN_JAVA = 17


class PrerequisiteError(RuntimeError):
    """Something the local platform needs is missing; the message says how to fix it."""


def java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise PrerequisiteError(
            f"Java {MIN_JAVA}+ is missing: run `make setup` (installs openjdk-17-jre-headless), "
            "or install a JDK and put java on PATH or set JAVA_HOME"
        )
    output = subprocess.run(
        [candidate, "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = _JAVA_VERSION.search(output)
    if not match or int(match[1]) < MIN_JAVA:
        raise PrerequisiteError(
            f"{candidate} is not Java {MIN_JAVA}+ ({output.splitlines()[:1]}): "
            "install openjdk-17-jre-headless or point JAVA_HOME at a newer JDK"
        )
    return candidate


def redis_executable() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise PrerequisiteError(
            "redis-server is missing: run `make setup`, or `sudo apt-get install -y redis-server`"
        )
    return found


def jars(folder: Path, what: str) -> list[Path]:
    found = sorted(folder.glob("*.jar"))
    if not found or not (folder / ".complete").exists():
        raise PrerequisiteError(
            f"{what} jars are missing from {folder}: run `make setup` "
            "(Maven fetches them; javac compiles jvm/validator)"
        )
    return found


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def free_ports(ports: dict[str, int]) -> None:
    """Each named port must be free on loopback; names are the settings keys."""
    taken = {key: port for key, port in ports.items() if port_in_use(port)}
    if taken:
        key, port = next(iter(taken.items()))
        variable = "RTAP_LOCAL__" + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()
        raise PrerequisiteError(
            f"port {port} (rtap:local.{key}) is in use by another process: stop it "
            f"(`rtap down` if it is an earlier rtap run), or pick another port with {variable}"
        )
