"""What the serving API accepts and returns; REST and GraphQL share these models."""

from __future__ import annotations

import base64
import binascii
import enum
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field

from workloads.events.api import Event
from workloads.events.model import EventType

T = TypeVar("T")


class InvalidRequestError(ValueError):
    """A request that parses but makes no sense; answered with 422 naming the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        # GraphQL copies an exception's `extensions` into the error it reports.
        self.extensions = {"code": "invalid_request", "field": field}


class Granularity(enum.StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class Meta(BaseModel):
    cache: str = Field(description="hit, miss, stale (ClickHouse unavailable) or bypass")
    stale: bool = Field(
        description="True when the answer is a cached one served because "
        "ClickHouse is unavailable; it may miss recent batches"
    )
    data_version: int | None = Field(description="Committed-batch counter the answer is for")


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: Meta


class CountPoint(BaseModel):
    bucket: datetime
    event_type: EventType
    events: int
    value_sum: float


class EventCounts(BaseModel):
    granularity: Granularity
    start: datetime
    end: datetime
    points: list[CountPoint]


class TypeCount(BaseModel):
    event_type: EventType
    events: int


class TopEventTypes(BaseModel):
    items: list[TypeCount]


class DistinctUsers(BaseModel):
    users: int = Field(description="ClickHouse uniq(): approximate, within about 2%")
    event_type: EventType | None


class UserCount(BaseModel):
    user_id: str
    events: int


class TopUsers(BaseModel):
    items: list[UserCount]
    next_cursor: str | None


class UserEvents(BaseModel):
    user_id: str
    items: list[Event]  # type: ignore[valid-type]
    next_cursor: str | None


class Session(BaseModel):
    session_start: datetime
    session_end: datetime
    last_event_time: datetime
    events: int
    value_sum: float
    event_types: list[EventType]


class UserSessions(BaseModel):
    user_id: str
    items: list[Session]
    next_cursor: str | None


class FunnelStep(BaseModel):
    step: int
    event_type: EventType
    users: int = Field(description="Users who reached this step within the window")


class Funnel(BaseModel):
    window_seconds: int
    steps: list[FunnelStep]


class Freshness(BaseModel):
    latest_event_time: datetime | None
    latest_ingested_at: datetime | None = Field(
        description="When the newest events (the last ten minutes of event time) were stored"
    )
    lag_seconds: float | None = Field(description="Now minus the latest stored event time")


def as_utc(moment: datetime) -> datetime:
    """Timestamps without a zone are read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, orjson.JSONDecodeError, UnicodeEncodeError, ValueError):
        raise InvalidRequestError("cursor", "malformed; pass next_cursor back unchanged") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidRequestError("cursor", "malformed; pass next_cursor back unchanged")
    return values


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str = Field(
        description="invalid_request, unauthenticated, forbidden, rate_limited, "
        "unavailable or internal"
    )
    message: str
    fields: list[FieldProblem] | None = None
    scope: str | None = None


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("Missing or invalid credentials"),
    403: _error("The credential lacks the scope this route needs"),
    422: _error("A parameter is invalid; `fields` names it"),
    429: _error("Rate limit exceeded; see Retry-After"),
    503: _error("ClickHouse unavailable and no cached answer; see Retry-After"),
}
