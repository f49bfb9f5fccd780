"""API keys (hashed, scoped, revocable) and JWT bearer tokens."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from workloads.serving.auth import (
    AuthenticationError,
    Authenticator,
    JwtVerifier,
    KeyStore,
    Scope,
)
from workloads.serving.dependencies import bearer_token

SECRET = "a-test-signing-secret-of-32-bytes!"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json")


def test_a_created_key_authenticates_with_its_scopes(keys: KeyStore) -> None:
    record, token = keys.create("dashboard", [Scope.EVENTS_READ])
    principal = keys.authenticate(token)
    assert principal.scopes == {"events:read"}
    assert principal.limit_key == f"key:{record.key_id}"


def test_keys_are_stored_hashed_in_a_private_file(keys: KeyStore, tmp_path: Path) -> None:
    _, token = keys.create("ci", [Scope.EVENTS_READ, Scope.USERS_READ])
    secret = token.split("_", 2)[2]  # rtap_<id>_<secret>; the secret may hold "_"
    stored = (tmp_path / "keys.json").read_text()
    assert secret not in stored
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + "x", lambda t: "rtap_unknown_secret"])
def test_wrong_or_unknown_keys_are_refused(keys: KeyStore, mangle: Callable[[str], str]) -> None:
    _, token = keys.create("x", [Scope.EVENTS_READ])
    with pytest.raises(AuthenticationError):
        keys.authenticate(mangle(token))


def test_a_revoked_key_is_refused_by_a_running_store(keys: KeyStore, tmp_path: Path) -> None:
    record, token = keys.create("x", [Scope.EVENTS_READ])
    keys.authenticate(token)
    # Another process (the CLI) revokes it; the running API rereads the file.
    KeyStore(tmp_path / "keys.json").revoke(record.key_id)
    time.sleep(1.1)
    with pytest.raises(AuthenticationError, match="revoked"):
        keys.authenticate(token)
    assert [r.revoked_at is not None for r in keys.list()] == [True]


def _token(**claims: object) -> str:
    defaults: dict[str, object] = {"sub": "svc", "aud": "rtap", "exp": time.time() + 60}
    return jwt.encode({**defaults, **claims}, SECRET, algorithm="HS256")


def test_jwt_scopes_come_from_the_scope_claim() -> None:
    principal = JwtVerifier(SECRET, "rtap").authenticate(_token(scope="events:read users:read"))
    assert principal.scopes == {"events:read", "users:read"}
    assert principal.subject == "jwt:svc"


@pytest.mark.parametrize(
    "token",
    [
        _token(exp=time.time() - 10),  # expired
        _token(aud="someone-else"),
        jwt.encode({"sub": "svc", "aud": "rtap"}, SECRET, algorithm="HS256"),  # no exp
        jwt.encode(
            {"sub": "svc", "aud": "rtap", "exp": 2**40}, "another-signing-secret-of-32-bytes"
        ),
        "not.a.jwt",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthenticationError):
        JwtVerifier(SECRET, "rtap").authenticate(token)


def test_no_credentials_and_disabled_jwt_are_refused(keys: KeyStore) -> None:
    authenticator = Authenticator(keys, None)
    with pytest.raises(AuthenticationError, match="credentials required"):
        authenticator.authenticate(None, None)
    with pytest.raises(AuthenticationError, match="not enabled"):
        authenticator.authenticate(None, _token())


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer abc", "abc"),
        ("Bearer ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_is_read_only_from_a_bearer_header(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token
