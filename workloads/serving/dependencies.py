"""What routes depend on: the serving context, the caller, and the JSON envelope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Depends, Request, Response

from workloads.serving.auth import Authenticator, Principal, Scope
from workloads.serving.cache import Answer, CacheStatus, ResultCache
from workloads.serving.clickhouse_reader import ClickHouseReader
from workloads.serving.errors import ForbiddenError, RateLimitedError
from workloads.serving.observability import ServingMetrics
from workloads.serving.prepared import PreparedQuery
from workloads.serving.ratelimit import RateLimiter
from workloads.serving.service import QueryService
from workloads.serving.settings import ServingSettings


@dataclass
class ServingContext:
    settings: ServingSettings
    environment: str
    service: QueryService
    authenticator: Authenticator
    rate_limiter: RateLimiter
    clickhouse: ClickHouseReader
    cache: ResultCache | None
    metrics: ServingMetrics

    def close(self) -> None:
        """Stop the background threads (rate-limit sync, data-version feed)."""
        self.rate_limiter.stop()
        if self.cache is not None:
            self.cache.stop()


async def get_context(request: Request) -> ServingContext:
    context: ServingContext = request.app.state.context
    return context


Context = Annotated[ServingContext, Depends(get_context)]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if that is what it holds."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def caller_with(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the authenticated caller, holding `scope`, within the rate limit.

    It reads the two credential headers itself rather than through FastAPI's security
    dependencies: resolving dependencies was half of a cached answer's CPU time. The
    OpenAPI schema declares both schemes (see `app.py`).
    """

    # Async: it does no I/O, and a sync dependency would cost a thread hop per request.
    async def dependency(request: Request) -> Principal:
        context: ServingContext = request.app.state.context
        headers = request.headers
        principal = context.authenticator.authenticate(
            headers.get("x-api-key"), bearer_token(headers.get("authorization"))
        )
        if scope.value not in principal.scopes:
            raise ForbiddenError(scope.value)
        retry_after = context.rate_limiter.retry_after(principal.limit_key)
        if retry_after is not None:
            raise RateLimitedError(retry_after)
        return principal

    return dependency


EventsReader = Annotated[Principal, Depends(caller_with(Scope.EVENTS_READ))]
UsersReader = Annotated[Principal, Depends(caller_with(Scope.USERS_READ))]


async def respond(context: ServingContext, prepared: PreparedQuery) -> Response:
    return envelope(await context.service.answer_async(prepared))


def envelope(answer: Answer) -> Response:
    """`{"data": ..., "meta": ...}` built around the cached bytes, which are not re-parsed."""
    stale = answer.status is CacheStatus.STALE
    meta = orjson.dumps(
        {"cache": answer.status.value, "stale": stale, "data_version": answer.version}
    )
    headers = {"X-Cache": answer.status.value}
    if stale:
        headers["Warning"] = '110 - "Response is Stale"'
    return Response(
        b'{"data":' + answer.body + b',"meta":' + meta + b"}",
        media_type="application/json",
        headers=headers,
    )
