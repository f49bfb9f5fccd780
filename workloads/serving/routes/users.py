"""Per-user data: the most active users, one user's events and sessions."""

# No `from __future__ import annotations`: FastAPI must see the per-app limit type.
from typing import Annotated

from fastapi import APIRouter, Query, Response

from workloads.serving.dependencies import Context, UsersReader, respond
from workloads.serving.models import ERROR_RESPONSES, Envelope, TopUsers, UserEvents, UserSessions
from workloads.serving.routes.params import Cursor, End, Start, UserId
from workloads.serving.settings import ServingSettings


def users_router(settings: ServingSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/users", tags=["users"], responses=ERROR_RESPONSES)
    limit_param = Annotated[
        int | None, Query(ge=1, le=settings.max_limit, description="Rows per page.")
    ]

    @router.get("/top", response_model=Envelope[TopUsers])
    async def top_users(
        *,
        context: Context,
        _: UsersReader,
        start: Start = None,
        end: End = None,
        limit: limit_param = None,
        cursor: Cursor = None,
    ) -> Response:
        """Users with the most events in the range, most active first; paginated."""
        service = context.service
        return await respond(context, service.top_users(start, end, service.limit(limit), cursor))

    @router.get("/{user_id}/events", response_model=Envelope[UserEvents])
    async def user_events(
        *,
        context: Context,
        _: UsersReader,
        user_id: UserId,
        start: Start = None,
        end: End = None,
        limit: limit_param = None,
        cursor: Cursor = None,
    ) -> Response:
        """One user's events, newest first; paginated."""
        service = context.service
        return await respond(
            context, service.user_events(user_id, start, end, service.limit(limit), cursor)
        )

    @router.get("/{user_id}/sessions", response_model=Envelope[UserSessions])
    async def user_sessions(
        *,
        context: Context,
        _: UsersReader,
        user_id: UserId,
        limit: limit_param = None,
        cursor: Cursor = None,
    ) -> Response:
        """One user's closed sessions, newest first; paginated."""
        service = context.service
        return await respond(context, service.user_sessions(user_id, service.limit(limit), cursor))

    return router
