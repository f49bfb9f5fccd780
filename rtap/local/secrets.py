"""Local credentials, generated once per run directory and readable only by the owner."""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson

from workloads.serving.auth import AuthenticationError, KeyStore, Scope


@dataclass(frozen=True)
class LocalSecrets:
    redis_password: str
    control_token: str
    # The read key the local dashboard link carries (also stored hashed in the key file).
    dashboard_key: str | None = None

    @classmethod
    def load_or_create(cls, path: Path) -> LocalSecrets:
        if path.is_file():
            return cls(**orjson.loads(path.read_bytes()))
        created = cls(
            redis_password=secrets.token_urlsafe(24), control_token=secrets.token_urlsafe(24)
        )
        created.save(path)
        return created

    def redis_url(self, port: int) -> str:
        """The URL clients of the local redis-server on `port` use (password included)."""
        return f"redis://:{self.redis_password}@127.0.0.1:{port}/0"

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(orjson.dumps(asdict(self)))
        os.replace(temporary, path)

    def with_dashboard_key(self, keys: KeyStore, path: Path) -> LocalSecrets:
        """These secrets with a working dashboard key, created (and saved) if needed."""
        if self.dashboard_key:
            try:
                keys.authenticate(self.dashboard_key)
            except AuthenticationError:
                pass
            else:
                return self
        _, token = keys.create("local dashboard", [Scope.EVENTS_READ, Scope.USERS_READ])
        updated = replace(self, dashboard_key=token)
        updated.save(path)
        return updated
