"""Local credentials, generated once per run directory and readable only by the owner."""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson


@dataclass(frozen=True)
class LocalSecrets:
    redis_password: str
    control_token: str

    @classmethod
    def load_or_create(cls, path: Path) -> LocalSecrets:
        if path.is_file():
            raw = orjson.loads(path.read_bytes())
            return cls(redis_password=raw["redis_password"], control_token=raw["control_token"])
        created = cls(
            redis_password=secrets.token_urlsafe(24), control_token=secrets.token_urlsafe(24)
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(orjson.dumps(asdict(created)))
        return created
