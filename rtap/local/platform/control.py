"""The platform process's control endpoints: health, stats, what is stored (checked
against a run's ground truth, and its size on disk), and fault injection.

They share the API's port but not its auth: everything but /internal/health needs the
local control token (a bearer token from the run directory's 0600 secrets file), and
none of them appears in the API's OpenAPI schema.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from workloads.serving.dependencies import ServingContext

_bearer = HTTPBearer(auto_error=False)


class RollupRequest(BaseModel):
    from_minute: int = Field(ge=0)


class ControlledPlatform(Protocol):
    """What the endpoints need of the platform (rtap/local/platform/process.py Platform)."""

    state: str
    detail: str
    error: str | None

    def stats(self, timeline_since: float | None) -> dict[str, Any]: ...

    def rollups(self, from_minute: int) -> list[list[Any]]: ...

    def storage_sizes(self) -> list[dict[str, Any]]:
        """What each stored table takes on disk, per column (workloads/storage/sizes.py)."""

    def check_storage(
        self,
        ground_truth_dir: Path,
        start_offsets: dict[int, int],
        baseline: list[list[Any]],
        baseline_from_minute: int,
    ) -> dict[str, Any]:
        """The storage verdict of a run: what ClickHouse holds against its ground truth."""


class StorageCheckRequest(BaseModel):
    ground_truth_dir: str
    start_offsets: dict[int, int]
    baseline: list[list[Any]]
    baseline_from_minute: int = Field(ge=0)


class Faults(BaseModel):
    """Faults a drill or test can switch on: the API's ClickHouse query path, cut."""

    clickhouse_unavailable: bool


def control_router(platform: ControlledPlatform, serving: ServingContext, token: str) -> APIRouter:
    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or not secrets.compare_digest(credentials.credentials, token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "control token required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def require_running() -> None:
        if platform.state != "running":
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"platform is {platform.state}: {platform.detail}",
                headers={"Retry-After": "2"},
            )

    router = APIRouter(prefix="/internal", include_in_schema=False)
    authorized = [Depends(require_token)]

    @router.get("/health")
    def health() -> dict[str, Any]:
        return {"state": platform.state, "detail": platform.detail, "error": platform.error}

    @router.get("/stats", dependencies=authorized)
    def stats(timeline_since: float | None = None) -> dict[str, Any]:
        return platform.stats(timeline_since)

    @router.post("/rollups", dependencies=[*authorized, Depends(require_running)])
    def rollups(request: RollupRequest) -> dict[str, Any]:
        return {"cells": platform.rollups(request.from_minute)}

    @router.get("/storage-sizes", dependencies=[*authorized, Depends(require_running)])
    def storage_sizes() -> dict[str, Any]:
        return {"tables": platform.storage_sizes()}

    @router.post("/storage-check", dependencies=[*authorized, Depends(require_running)])
    def storage_check(request: StorageCheckRequest) -> dict[str, Any]:
        directory = Path(request.ground_truth_dir)
        if not (directory / "ground_truth.json").is_file():
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"ground_truth_dir: no ground_truth.json in {directory}",
            )
        return platform.check_storage(
            directory, request.start_offsets, request.baseline, request.baseline_from_minute
        )

    @router.put("/faults", dependencies=authorized)
    def faults(request: Faults) -> Faults:
        serving.clickhouse.unavailable = request.clickhouse_unavailable
        return request

    return router
