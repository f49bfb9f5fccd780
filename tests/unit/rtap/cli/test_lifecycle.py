"""The CLI's answers to a broken environment: one clear line, before anything starts."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtap.cli import app
from rtap.local.paths import RunPaths

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "RTAP_LOCAL__RUN_DIR": str(tmp_path / "run")}


def _up(env: dict[str, str]) -> tuple[int, str]:
    result = runner.invoke(app, ["up", "--duration", "5"], env=env)
    return result.exit_code, " ".join(result.output.split())


def test_a_bad_setting_exits_2_naming_the_key(env: dict[str, str]) -> None:
    code, output = _up({**env, "RTAP_KAFKA__PARTITIONS": "-1"})
    assert code == 2
    assert "rtap:kafka.partitions" in output
    assert "RTAP_KAFKA__PARTITIONS" in output


def test_a_port_in_use_says_which_setting_to_change(env: dict[str, str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, output = _up({**env, "RTAP_LOCAL__REDIS_PORT": str(port)})
    assert code == 1
    assert f"port {port} (rtap:local.redisPort) is in use" in output
    assert "RTAP_LOCAL__REDIS_PORT" in output


def test_missing_redis_server_says_how_to_install_it(env: dict[str, str], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = shutil.which("java")
    assert java is not None
    (bin_dir / "java").symlink_to(java)
    code, output = _up({**env, "PATH": str(bin_dir)})
    assert code == 1
    assert "redis-server is missing" in output
    assert "apt-get install -y redis-server" in output


def test_missing_java_says_how_to_install_it(env: dict[str, str], tmp_path: Path) -> None:
    environment = {k: v for k, v in env.items() if k != "JAVA_HOME"}
    code, output = _up({**environment, "PATH": str(tmp_path)})
    assert code == 1
    assert "Java 17+ is missing" in output
    assert "make setup" in output


def test_missing_jars_point_at_make_setup(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RunPaths, "kafka_jars", property(lambda _: tmp_path / "no-jars"))
    code, output = _up(env)
    assert code == 1
    assert "Kafka broker jars are missing" in output
    assert "make setup" in output
