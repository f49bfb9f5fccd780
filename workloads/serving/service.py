"""Answers for REST and GraphQL alike: defaults, validation, caching, serialization."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel

from workloads.events.model import EventType
from workloads.serving.cache import Answer, CacheStatus, ResultCache
from workloads.serving.models import Freshness, Granularity
from workloads.serving.queries import Queries, Window, check_user_id, checked_moment
from workloads.serving.settings import ServingSettings

_DEFAULT_SPAN = timedelta(hours=1)
_SECOND = timedelta(seconds=1)


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _minute_ceiling(moment: datetime) -> datetime:
    floor = _minute_floor(moment)
    return floor if floor == moment else floor + timedelta(minutes=1)


class QueryService:
    """Every public method returns an `Answer`: the JSON of a result model, and how the
    cache served it.

    Ranges on the per-minute rollups are aligned to whole minutes (start rounded down,
    end rounded up): the answer is the same, and "the last 30 minutes" asked a second
    apart hits the same cache entry.
    """

    def __init__(
        self, queries: Queries, cache: ResultCache | None, settings: ServingSettings
    ) -> None:
        self.queries = queries
        self._cache = cache
        self._settings = settings

    def limit(self, requested: int | None) -> int:
        return requested or self._settings.default_limit

    def event_counts(
        self,
        start: datetime | None,
        end: datetime | None,
        granularity: Granularity,
        event_types: list[EventType],
    ) -> Answer:
        window = self._rollup_window(start, end, granularity)
        types = sorted(set(event_types))
        return self._answer(
            "event_counts",
            self._settings.cache.timeseries,
            {"window": _key(window), "granularity": granularity, "types": types},
            lambda: self.queries.event_counts(window, granularity, types),
        )

    def top_event_types(self, start: datetime | None, end: datetime | None, limit: int) -> Answer:
        window = self._rollup_window(start, end, Granularity.HOUR)
        return self._answer(
            "top_event_types",
            self._settings.cache.top,
            {"window": _key(window), "limit": limit},
            lambda: self.queries.top_event_types(window, limit),
        )

    def distinct_users(
        self, start: datetime | None, end: datetime | None, event_type: EventType | None
    ) -> Answer:
        window = self._rollup_window(start, end, Granularity.HOUR)
        return self._answer(
            "distinct_users",
            self._settings.cache.distinct_users,
            {"window": _key(window), "event_type": event_type},
            lambda: self.queries.distinct_users(window, event_type),
        )

    def top_users(
        self, start: datetime | None, end: datetime | None, limit: int, cursor: str | None
    ) -> Answer:
        window = self._raw_window(start, end)
        return self._answer(
            "top_users",
            self._settings.cache.top,
            {"window": _key(window), "limit": limit, "cursor": cursor},
            lambda: self.queries.top_users(window, limit, cursor),
        )

    def user_events(
        self,
        user_id: str,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Answer:
        user = check_user_id(user_id)
        window = self._raw_window(start, end)
        return self._answer(
            "user_events",
            self._settings.cache.users,
            {"user": user, "window": _key(window), "limit": limit, "cursor": cursor},
            lambda: self.queries.user_events(user, window, limit, cursor),
        )

    def user_sessions(self, user_id: str, limit: int, cursor: str | None) -> Answer:
        user = check_user_id(user_id)
        return self._answer(
            "user_sessions",
            self._settings.cache.users,
            {"user": user, "limit": limit, "cursor": cursor},
            lambda: self.queries.user_sessions(user, limit, cursor),
        )

    def funnel(
        self,
        steps: list[EventType],
        window_seconds: int,
        start: datetime | None,
        end: datetime | None,
    ) -> Answer:
        window = self._raw_window(start, end)
        return self._answer(
            "funnel",
            self._settings.cache.funnel,
            {"steps": steps, "window_seconds": window_seconds, "window": _key(window)},
            lambda: self.queries.funnel(steps, window_seconds, window),
        )

    def freshness(self) -> Answer:
        """The latest stored event; the lag is recomputed on every answer, cached or not."""
        cached = self._answer(
            "freshness",
            self._settings.cache.freshness,
            {},
            lambda: self.queries.freshness(datetime.now(UTC)),
        )
        fresh = Freshness.model_validate_json(cached.body)
        if fresh.latest_event_time is not None:
            lag = (datetime.now(UTC) - fresh.latest_event_time).total_seconds()
            fresh = fresh.model_copy(update={"lag_seconds": max(lag, 0.0)})
        return Answer(_dump(fresh), cached.status, cached.version)

    def _answer(
        self, query: str, ttl: int, parameters: dict[str, Any], compute: Callable[[], BaseModel]
    ) -> Answer:
        def body() -> bytes:
            return _dump(compute())

        if self._cache is None:
            return Answer(body(), CacheStatus.BYPASS, None)
        return self._cache.answer(query, ttl, parameters, body)

    def _rollup_window(
        self, start: datetime | None, end: datetime | None, granularity: Granularity
    ) -> Window:
        end = checked_moment("end", end) if end else datetime.now(UTC)
        start = checked_moment("start", start) if start else end - _DEFAULT_SPAN
        return self.queries.window(_minute_floor(start), _minute_ceiling(end), granularity)

    def _raw_window(self, start: datetime | None, end: datetime | None) -> Window:
        # A default end is rounded up to the second, so repeated calls share cache entries.
        end = (
            checked_moment("end", end)
            if end
            else datetime.now(UTC).replace(microsecond=0) + _SECOND
        )
        start = checked_moment("start", start) if start else end - _DEFAULT_SPAN
        return self.queries.raw_window(start, end)


def _key(window: Window) -> list[str]:
    return [window.start.isoformat(), window.end.isoformat()]


def _dump(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))
