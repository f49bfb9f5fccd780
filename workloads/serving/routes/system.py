"""Liveness, readiness, metrics and the dashboard page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from workloads.serving.dependencies import Context

STATIC = Path(__file__).resolve().parent.parent / "static"


def system_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "A dependency is not ready"}})
    def readyz(context: Context) -> JSONResponse:
        """Readiness: ClickHouse answers a query and Redis a ping."""
        checks = {
            "clickhouse": context.clickhouse.ping(),
            "redis": context.cache.ping() if context.cache is not None else False,
        }
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, 200 if ready else 503)

    @router.get("/metrics", include_in_schema=False)
    def metrics(context: Context) -> Response:
        return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return router
