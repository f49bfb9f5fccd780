"""The platform process's control endpoints: health, stats and run verification.

Loopback only, and everything but /healthz needs the local control token (a bearer
token from the run directory's 0600 secrets file).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from rtap.local.platform import Platform

_bearer = HTTPBearer(auto_error=False)


class RollupRequest(BaseModel):
    from_minute: int = Field(ge=0)


class VerifyRequest(BaseModel):
    ground_truth_dir: str
    start_offsets: dict[int, int]
    baseline: list[list[Any]]
    baseline_from_minute: int = Field(ge=0)


def build_control_app(platform: Platform, token: str) -> FastAPI:
    app = FastAPI(title="rtap platform control", docs_url=None, redoc_url=None, openapi_url=None)

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or not secrets.compare_digest(credentials.credentials, token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "control token required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    authorized = [Depends(require_token)]

    def require_running() -> None:
        if platform.state != "running":
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"platform is {platform.state}: {platform.detail}",
                headers={"Retry-After": "2"},
            )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"state": platform.state, "detail": platform.detail, "error": platform.error}

    @app.get("/internal/stats", dependencies=authorized)
    def stats(timeline_since: float | None = None) -> dict[str, Any]:
        return platform.stats(timeline_since)

    @app.post("/internal/rollups", dependencies=[*authorized, Depends(require_running)])
    def rollups(request: RollupRequest) -> dict[str, Any]:
        return {"cells": platform.rollups(request.from_minute)}

    @app.post("/internal/verify", dependencies=[*authorized, Depends(require_running)])
    def verify(request: VerifyRequest) -> dict[str, Any]:
        directory = Path(request.ground_truth_dir)
        if not (directory / "ground_truth.json").is_file():
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"ground_truth_dir: no ground_truth.json in {directory}",
            )
        return platform.verify(
            directory, request.start_offsets, request.baseline, request.baseline_from_minute
        )

    return app
