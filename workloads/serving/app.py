"""The serving application: REST under /v1, GraphQL at /graphql, operations, dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from workloads.serving.dependencies import ServingContext
from workloads.serving.errors import install_error_handlers
from workloads.serving.graphql_api import graphql_router
from workloads.serving.middleware import RequestMiddleware
from workloads.serving.routes.events import events_router
from workloads.serving.routes.funnels import funnels_router
from workloads.serving.routes.system import STATIC, system_router
from workloads.serving.routes.users import users_router

DESCRIPTION = """Real-time analytics over the events the pipeline stores.

Every data route needs an API key (`X-API-Key`) or a bearer token with the right scope:
`events:read` for aggregates, `users:read` for per-user data. Answers come from a Redis
cache keyed by the committed-batch counter, so they are never older than the last
committed batch; `meta.cache` says how each was served.
"""


def create_app(context: ServingContext, extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        lifespan=lifespan,
        title="rtap API",
        version="1",
        description=DESCRIPTION,
    )
    app.state.context = context
    install_error_handlers(app, context.metrics, context.settings.retry_after_seconds)
    for router in (
        events_router(context.settings),
        users_router(context.settings),
        funnels_router(context.settings),
        system_router(),
        *extra_routers,
    ):
        app.include_router(router)
    app.include_router(graphql_router(context), prefix="/graphql", include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if context.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=context.settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(RequestMiddleware, metrics=context.metrics)
    _declare_security(app)
    return app


_SECURITY_SCHEMES = {
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key: rtap_<id>_<secret>",
    },
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A JWT (HS256) or an API key",
    },
}


def _declare_security(app: FastAPI) -> None:
    """Declare the credentials every /v1 route takes in the OpenAPI schema.

    The routes read the headers in one dependency of their own (FastAPI's security
    dependencies cost too much per request), so the schema is told here instead.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEMES
            for path, operations in schema["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{"APIKeyHeader": []}, {"HTTPBearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
