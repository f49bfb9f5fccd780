"""Who is calling: API keys (stored hashed, with scopes) or JWT bearer tokens.

An API key is `rtap_<id>_<secret>`: the id finds the record, the secret is compared
with its SHA-256 in constant time (secrets are 32 random bytes, so a fast hash is the
right one: there is nothing to brute-force). Keys live in a JSON file (0600) that the
CLI edits and the API rereads when it changes; in a cluster it is a mounted Secret.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import jwt
import orjson

KEY_PREFIX = "rtap_"
_RELOAD_EVERY_S = 1.0
# Each of a load test's keys stays within this share of the API's per-key rate limit, so
# that the test measures the API rather than its limiter.
LOAD_TEST_LIMIT_SHARE = 0.5


class Scope(enum.StrEnum):
    EVENTS_READ = "events:read"  # aggregates: counts, top types, distinct users, funnels
    USERS_READ = "users:read"  # per-user data: activity, sessions, top users


class AuthenticationError(Exception):
    """No credentials, or credentials that do not check out (401)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    # What the rate limit counts against: the key id, or the token's subject.
    limit_key: str


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str
    secret_sha256: str
    scopes: list[str]
    created_at: float
    revoked_at: float | None = None


def key_token(key_id: str, secret: str) -> str:
    """The API key its holder presents: `rtap_<id>_<secret>`."""
    return f"{KEY_PREFIX}{key_id}_{secret}"


def key_record(
    key_id: str, name: str, secret: str, scopes: Iterable[Scope], created_at: float
) -> KeyRecord:
    """The record of a key; the secret is kept only as its SHA-256."""
    return KeyRecord(key_id, name, _sha256(secret), [s.value for s in scopes], created_at)


def load_test_keys_needed(requests_per_second: float, limit_per_minute: int) -> int:
    """API keys to spread a load test's `requests_per_second` over, each within
    LOAD_TEST_LIMIT_SHARE of the per-key rate limit."""
    per_key = limit_per_minute / 60 * LOAD_TEST_LIMIT_SHARE
    return max(1, math.ceil(requests_per_second / per_key))


def key_file(records: Iterable[KeyRecord]) -> str:
    """The key file holding `records`, as KeyStore reads it (a mounted Secret in a
    cluster, a 0600 file locally)."""
    return json.dumps({"keys": [asdict(record) for record in records]})


class KeyStore:
    """API key records in a JSON file; safe to share between the CLI and a running API."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {}
        self._loaded_mtime = -1.0
        self._checked_at = 0.0

    @property
    def path(self) -> Path:
        return self._path

    def create(self, name: str, scopes: list[Scope]) -> tuple[KeyRecord, str]:
        """A new key; the token is returned once and stored only as a hash."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        record = key_record(key_id, name, secret, scopes, time.time())
        with self._lock:
            records = self._read()
            records[key_id] = record
            self._write(records)
        return record, key_token(key_id, secret)

    def revoke(self, key_id: str) -> KeyRecord:
        with self._lock:
            records = self._read()
            if key_id not in records:
                raise KeyError(key_id)
            revoked = KeyRecord(**{**asdict(records[key_id]), "revoked_at": time.time()})
            records[key_id] = revoked
            self._write(records)
        return revoked

    def list(self) -> list[KeyRecord]:
        with self._lock:
            return sorted(self._read().values(), key=lambda r: r.created_at)

    def authenticate(self, token: str) -> Principal:
        body = token.removeprefix(KEY_PREFIX)
        key_id, _, secret = body.partition("_")
        record = self._current().get(key_id)
        if record is None or not hmac.compare_digest(record.secret_sha256, _sha256(secret)):
            raise AuthenticationError("unknown API key")
        if record.revoked_at is not None:
            raise AuthenticationError("API key revoked")
        return Principal(f"key:{record.key_id}", frozenset(record.scopes), f"key:{record.key_id}")

    def _current(self) -> dict[str, KeyRecord]:
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at >= _RELOAD_EVERY_S:
                self._checked_at = now
                mtime = self._path.stat().st_mtime if self._path.exists() else 0.0
                if mtime != self._loaded_mtime:
                    self._records, self._loaded_mtime = self._read(), mtime
            return self._records

    def _read(self) -> dict[str, KeyRecord]:
        if not self._path.exists():
            return {}
        raw = orjson.loads(self._path.read_bytes())
        return {item["key_id"]: KeyRecord(**item) for item in raw["keys"]}

    def _write(self, records: dict[str, KeyRecord]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key_file(records.values()))
        os.replace(temporary, self._path)
        self._checked_at = 0.0


@dataclass(frozen=True)
class JwtVerifier:
    """HS256 with a shared secret (RTAP_JWT_SECRET); scopes in the `scope` claim."""

    secret: str
    audience: str
    issuer: str = ""

    def authenticate(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=self.audience,
                issuer=self.issuer or None,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(f"invalid token: {error}") from None
        scopes = frozenset(str(claims.get("scope", "")).split())
        return Principal(f"jwt:{claims['sub']}", scopes, f"jwt:{claims['sub']}")


class Authenticator:
    def __init__(self, keys: KeyStore, jwt_verifier: JwtVerifier | None) -> None:
        self._keys = keys
        self._jwt = jwt_verifier

    def authenticate(self, api_key: str | None, bearer: str | None) -> Principal:
        token = api_key or bearer
        if not token:
            raise AuthenticationError("credentials required: X-API-Key header or a bearer token")
        if token.startswith(KEY_PREFIX):
            return self._keys.authenticate(token)
        if self._jwt is None:
            raise AuthenticationError("bearer tokens are not enabled here; use an API key")
        return self._jwt.authenticate(token)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
