"""The serving application: REST under /v1, GraphQL at /graphql, operations, dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

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
    return app
