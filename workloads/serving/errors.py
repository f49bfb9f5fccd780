"""Every failure the API answers, as JSON that names what was wrong."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from workloads.serving.auth import AuthenticationError
from workloads.serving.clickhouse_reader import ClickHouseUnavailableError
from workloads.serving.models import InvalidRequestError
from workloads.serving.observability import ServingMetrics

log = structlog.get_logger(__name__)


class ForbiddenError(Exception):
    def __init__(self, scope: str) -> None:
        super().__init__(f"this credential lacks the scope {scope}")
        self.scope = scope
        self.extensions = {"code": "forbidden", "scope": scope}


class GraphQLRequestTooLargeError(Exception):
    """A GraphQL request body over `graphql_max_bytes` (answered with 400)."""


class RateLimitedError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


def _body(error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "message": message, **extra}


def install_error_handlers(app: FastAPI, metrics: ServingMetrics, retry_after_s: int) -> None:
    def count(error_class: str) -> None:
        metrics.errors.labels(error_class).inc()

    @app.exception_handler(RequestValidationError)
    async def invalid_parameters(_: Request, error: RequestValidationError) -> JSONResponse:
        count("validation")
        problems = [
            {
                "field": ".".join(str(p) for p in item["loc"][1:]) or str(item["loc"][0]),
                "message": item["msg"],
            }
            for item in error.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(_body("invalid_request", message, fields=problems), 422)

    @app.exception_handler(InvalidRequestError)
    async def invalid_request(_: Request, error: InvalidRequestError) -> JSONResponse:
        count("validation")
        problems = [{"field": error.field, "message": error.reason}]
        return JSONResponse(_body("invalid_request", str(error), fields=problems), 422)

    @app.exception_handler(AuthenticationError)
    async def unauthenticated(_: Request, error: AuthenticationError) -> JSONResponse:
        count("auth")
        return JSONResponse(
            _body("unauthenticated", str(error)), 401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(ForbiddenError)
    async def forbidden(_: Request, error: ForbiddenError) -> JSONResponse:
        count("auth")
        return JSONResponse(_body("forbidden", str(error), scope=error.scope), 403)

    @app.exception_handler(RateLimitedError)
    async def rate_limited(_: Request, error: RateLimitedError) -> JSONResponse:
        count("rate_limit")
        return JSONResponse(
            _body("rate_limited", str(error)), 429, headers={"Retry-After": str(error.retry_after)}
        )

    @app.exception_handler(ClickHouseUnavailableError)
    async def unavailable(_: Request, error: ClickHouseUnavailableError) -> JSONResponse:
        count("unavailable")
        log.warning("clickhouse unavailable", error=str(error))
        return JSONResponse(
            _body(
                "unavailable",
                "ClickHouse is unavailable and no cached answer exists; "
                f"retry in {retry_after_s} s",
            ),
            503,
            headers={"Retry-After": str(retry_after_s)},
        )

    @app.exception_handler(GraphQLRequestTooLargeError)
    async def graphql_too_large(_: Request, error: GraphQLRequestTooLargeError) -> JSONResponse:
        count("validation")
        return JSONResponse(_body("invalid_request", str(error)), 400)

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> JSONResponse:
        count("internal")
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse(_body("internal", "unexpected error; it has been logged"), 500)
