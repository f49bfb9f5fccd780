"""Funnels: how many users went through ordered steps within a window."""

# No `from __future__ import annotations`: FastAPI must see the per-app Limit type.
from typing import Annotated

from fastapi import APIRouter, Query, Response

from workloads.events.model import EventType
from workloads.serving.dependencies import Context, EventsReader, respond
from workloads.serving.models import ERROR_RESPONSES, Envelope, Funnel
from workloads.serving.routes.params import End, Start
from workloads.serving.settings import ServingSettings


def funnels_router(settings: ServingSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["funnels"], responses=ERROR_RESPONSES)

    @router.get("/funnel", response_model=Envelope[Funnel])
    async def funnel(
        context: Context,
        _: EventsReader,
        steps: Annotated[
            list[EventType],
            Query(
                min_length=2,
                max_length=settings.max_funnel_steps,
                description="The ordered steps (repeat the parameter).",
            ),
        ],
        window_seconds: Annotated[
            int, Query(ge=1, le=7 * 86_400, description="Longest time from first to last step.")
        ] = 3600,
        start: Start = None,
        end: End = None,
    ) -> Response:
        """Users reaching each step in order within the window (ClickHouse windowFunnel)."""
        return await respond(context, context.service.funnel(steps, window_seconds, start, end))

    return router
