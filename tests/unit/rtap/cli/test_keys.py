"""`rtap keys create|list|revoke` against a key file in a temporary run directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtap.cli.keys import app as keys_app
from workloads.serving.auth import AuthenticationError, KeyStore


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RTAP_LOCAL__RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def test_create_list_and_revoke_a_key(run_dir: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        keys_app, ["create", "--name", "grafana", "--scope", "events:read"], terminal_width=200
    )
    assert created.exit_code == 0, created.output
    token = re.search(r"rtap_\S+", created.output)
    assert token is not None
    key_file = next(run_dir.rglob("api-keys.json"))
    assert token.group(0).split("_", 2)[2] not in key_file.read_text()  # stored hashed
    principal = KeyStore(key_file).authenticate(token.group(0))
    assert principal.scopes == {"events:read"}

    listed = runner.invoke(keys_app, ["list"], terminal_width=200)
    assert "grafana" in listed.output and "events:read" in listed.output
    key_id = token.group(0).split("_")[1]
    revoked = runner.invoke(keys_app, ["revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(AuthenticationError, match="revoked"):
        KeyStore(key_file).authenticate(token.group(0))


def test_unknown_scope_and_unknown_key_are_refused(run_dir: Path) -> None:
    runner = CliRunner()
    bad_scope = runner.invoke(keys_app, ["create", "--name", "x", "--scope", "admin"])
    assert bad_scope.exit_code != 0 and "admin" in bad_scope.output
    missing = runner.invoke(keys_app, ["revoke", "nope"])
    assert missing.exit_code != 0 and "nope" in missing.output
