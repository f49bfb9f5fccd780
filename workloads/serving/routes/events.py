"""Aggregates over all events: counts over time, top types, distinct users, freshness."""

# No `from __future__ import annotations`: FastAPI must see the per-app limit type.
from typing import Annotated

from fastapi import APIRouter, Query, Response

from workloads.events.model import EventType
from workloads.serving.dependencies import Context, EventsReader, respond
from workloads.serving.models import (
    ERROR_RESPONSES,
    DistinctUsers,
    Envelope,
    EventCounts,
    Freshness,
    Granularity,
    TopEventTypes,
)
from workloads.serving.routes.params import End, Start
from workloads.serving.settings import ServingSettings


def events_router(settings: ServingSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)
    limit_param = Annotated[
        int | None, Query(ge=1, le=settings.max_limit, description="Rows to return.")
    ]

    @router.get("/counts", response_model=Envelope[EventCounts])
    async def event_counts(
        *,
        context: Context,
        _: EventsReader,
        start: Start = None,
        end: End = None,
        granularity: Granularity = Granularity.MINUTE,
        event_type: Annotated[
            list[EventType] | None, Query(description="Only these types (repeatable).")
        ] = None,
    ) -> Response:
        """Events and value sums per time bucket and event type."""
        prepared = context.service.event_counts(start, end, granularity, event_type or [])
        return await respond(context, prepared)

    @router.get("/top-types", response_model=Envelope[TopEventTypes])
    async def top_event_types(
        *,
        context: Context,
        _: EventsReader,
        start: Start = None,
        end: End = None,
        limit: limit_param = None,
    ) -> Response:
        """The most frequent event types in the range."""
        return await respond(
            context, context.service.top_event_types(start, end, context.service.limit(limit))
        )

    @router.get("/distinct-users", response_model=Envelope[DistinctUsers])
    async def distinct_users(
        *,
        context: Context,
        _: EventsReader,
        start: Start = None,
        end: End = None,
        event_type: EventType | None = None,
    ) -> Response:
        """Distinct users in the range (ClickHouse `uniq`), optionally for one type."""
        return await respond(context, context.service.distinct_users(start, end, event_type))

    @router.get("/freshness", response_model=Envelope[Freshness])
    async def freshness(*, context: Context, _: EventsReader) -> Response:
        """The latest stored event and how far it lags behind now."""
        return await respond(context, context.service.freshness())

    return router
