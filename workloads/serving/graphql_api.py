"""The GraphQL endpoint: the same query service as REST, with depth, size and time limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import strawberry
from fastapi import Depends, Request
from graphql import GraphQLError
from pydantic import BaseModel
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionContext, Info

from workloads.events.model import EventType
from workloads.serving import models
from workloads.serving.auth import Principal, Scope
from workloads.serving.clickhouse_reader import ClickHouseUnavailableError
from workloads.serving.dependencies import ServingContext, caller_with
from workloads.serving.errors import ForbiddenError, GraphQLRequestTooLargeError
from workloads.serving.graphql_types import (
    DistinctUsers,
    EventCounts,
    Freshness,
    Funnel,
    TopEventTypes,
    TopUsers,
    UserEvents,
    UserSessions,
)
from workloads.serving.prepared import PreparedQuery

M = TypeVar("M", bound=BaseModel)

_EXPECTED = (ForbiddenError, models.InvalidRequestError, ClickHouseUnavailableError, TimeoutError)


async def _run(info: Info, model: type[M], prepare: Callable[[ServingContext], PreparedQuery]) -> M:
    """Answer a query-service question within the GraphQL time limit; bad input answers
    400 and an unavailable ClickHouse 503, as on REST."""
    context: ServingContext = info.context["serving"]
    response = info.context["response"]
    try:
        answer = await asyncio.wait_for(
            context.service.answer_async(prepare(context)),
            context.settings.graphql_timeout_seconds,
        )
    except models.InvalidRequestError:
        response.status_code = 400
        raise
    except (ClickHouseUnavailableError, TimeoutError):
        response.status_code = 503
        response.headers["Retry-After"] = str(context.settings.retry_after_seconds)
        raise
    return model.model_validate_json(answer.body)


def _require_users_scope(info: Info) -> None:
    principal: Principal = info.context["principal"]
    if Scope.USERS_READ.value not in principal.scopes:
        info.context["response"].status_code = 403
        raise ForbiddenError(Scope.USERS_READ.value)


class RejectInvalidQueries(SchemaExtension):
    """HTTP 400 for a query that fails validation (too deep, too many tokens or aliases,
    unknown fields); GraphQL itself would answer 200 with errors."""

    def on_parse(self) -> Iterator[None]:
        yield
        self._reject_if_invalid()

    def on_validate(self) -> Iterator[None]:
        yield
        self._reject_if_invalid()

    def _reject_if_invalid(self) -> None:
        if self.execution_context.pre_execution_errors:
            self.execution_context.context["response"].status_code = 400


class QuietSchema(strawberry.Schema):
    """Logs only unexpected resolver errors: refusals and bad input are the caller's."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [e for e in errors if not isinstance(e.original_error, _EXPECTED)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


@strawberry.type
class Query:
    @strawberry.field(description="Events and value sums per time bucket and event type.")
    async def event_counts(
        self,
        info: Info,
        start: datetime | None = None,
        end: datetime | None = None,
        granularity: models.Granularity = models.Granularity.MINUTE,
        event_types: list[EventType] | None = None,
    ) -> EventCounts:
        model = await _run(
            info,
            models.EventCounts,
            lambda c: c.service.event_counts(start, end, granularity, event_types or []),
        )
        return EventCounts.from_pydantic(model)

    @strawberry.field(description="The most frequent event types in the range.")
    async def top_event_types(
        self,
        info: Info,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> TopEventTypes:
        model = await _run(
            info,
            models.TopEventTypes,
            lambda c: c.service.top_event_types(start, end, _limit(c, limit)),
        )
        return TopEventTypes.from_pydantic(model)

    @strawberry.field(description="Distinct users in the range (ClickHouse uniq).")
    async def distinct_users(
        self,
        info: Info,
        start: datetime | None = None,
        end: datetime | None = None,
        event_type: EventType | None = None,
    ) -> DistinctUsers:
        model = await _run(
            info, models.DistinctUsers, lambda c: c.service.distinct_users(start, end, event_type)
        )
        return DistinctUsers.from_pydantic(model)

    @strawberry.field(description="Users with the most events in the range; paginated.")
    async def top_users(
        self,
        info: Info,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> TopUsers:
        _require_users_scope(info)
        model = await _run(
            info,
            models.TopUsers,
            lambda c: c.service.top_users(start, end, _limit(c, limit), cursor),
        )
        return TopUsers.from_pydantic(model)

    @strawberry.field(description="One user's events, newest first; paginated.")
    async def user_events(
        self,
        info: Info,
        *,
        user_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> UserEvents:
        _require_users_scope(info)
        model = await _run(
            info,
            models.UserEvents,
            lambda c: c.service.user_events(user_id, start, end, _limit(c, limit), cursor),
        )
        return UserEvents.from_pydantic(model)

    @strawberry.field(description="One user's closed sessions, newest first; paginated.")
    async def user_sessions(
        self,
        info: Info,
        user_id: str,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> UserSessions:
        _require_users_scope(info)
        model = await _run(
            info,
            models.UserSessions,
            lambda c: c.service.user_sessions(user_id, _limit(c, limit), cursor),
        )
        return UserSessions.from_pydantic(model)

    @strawberry.field(description="Users reaching each ordered step within the window.")
    async def funnel(
        self,
        info: Info,
        steps: list[EventType],
        window_seconds: int = 3600,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Funnel:
        model = await _run(
            info, models.Funnel, lambda c: c.service.funnel(steps, window_seconds, start, end)
        )
        return Funnel.from_pydantic(model)

    @strawberry.field(description="The latest stored event and its lag behind now.")
    async def freshness(self, info: Info) -> Freshness:
        model = await _run(info, models.Freshness, lambda c: c.service.freshness())
        return Freshness.from_pydantic(model)


def _limit(context: ServingContext, requested: int | None) -> int:
    limit = context.service.limit(requested)
    if not 1 <= limit <= context.settings.max_limit:
        raise models.InvalidRequestError("limit", f"must be 1..{context.settings.max_limit}")
    return limit


def graphql_router(context: ServingContext) -> GraphQLRouter[Any, None]:
    settings = context.settings
    introspection = (
        settings.graphql_introspection
        if settings.graphql_introspection is not None
        else context.environment == "local"
    )
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        RejectInvalidQueries,
        partial(QueryDepthLimiter, max_depth=settings.graphql_max_depth),
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
        partial(MaxAliasesLimiter, max_alias_count=settings.graphql_max_aliases),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = QuietSchema(query=Query, extensions=extensions)
    reader = caller_with(Scope.EVENTS_READ)

    async def context_getter(
        request: Request,
        principal: Principal = Depends(reader),  # noqa: B008 - FastAPI's idiom
    ) -> dict[str, Any]:
        serving: ServingContext = request.app.state.context
        if len(await request.body()) > settings.graphql_max_bytes:
            raise GraphQLRequestTooLargeError(
                f"GraphQL request over {settings.graphql_max_bytes} bytes"
            )
        return {"request": request, "serving": serving, "principal": principal}

    return GraphQLRouter(schema, context_getter=context_getter, graphql_ide=None)
