"""Answers for REST and GraphQL alike: defaults, validation, caching, serialization."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from workloads.events.model import EventType
from workloads.serving.cache import Answer, CacheStatus, ResultCache
from workloads.serving.models import Granularity
from workloads.serving.prepared import InFlight, PreparedQuery, dump_json, with_current_lag
from workloads.serving.queries import Queries
from workloads.serving.settings import ServingSettings
from workloads.serving.windows import Window, check_user_id, checked_moment

_DEFAULT_SPAN = timedelta(hours=1)
_SECOND = timedelta(seconds=1)


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _minute_ceiling(moment: datetime) -> datetime:
    floor = _minute_floor(moment)
    return floor if floor == moment else floor + timedelta(minutes=1)


class QueryService:
    """Each question is a method that validates its parameters and returns a
    `PreparedQuery`; `answer_async` turns that into an `Answer` (the JSON of
    a result model, and how the cache served it).

    Ranges on the per-minute rollups are aligned to whole minutes (start rounded down,
    end rounded up): the answer is the same, and "the last 30 minutes" asked a second
    apart hits the same cache entry.
    """

    def __init__(
        self, queries: Queries, cache: ResultCache | None, settings: ServingSettings
    ) -> None:
        self.queries = queries
        self._cache = cache
        self._in_flight = InFlight()
        self._settings = settings

    def limit(self, requested: int | None) -> int:
        return requested or self._settings.default_limit

    def event_counts(
        self,
        start: datetime | None,
        end: datetime | None,
        granularity: Granularity,
        event_types: list[EventType],
    ) -> PreparedQuery:
        window = self._rollup_window(start, end, granularity)
        types = sorted(set(event_types))
        return self._prepare(
            "event_counts",
            self._settings.cache.timeseries,
            {"window": _key(window), "granularity": granularity, "types": types},
            lambda: self.queries.event_counts(window, granularity, types),
        )

    def top_event_types(
        self, start: datetime | None, end: datetime | None, limit: int
    ) -> PreparedQuery:
        window = self._rollup_window(start, end, Granularity.HOUR)
        return self._prepare(
            "top_event_types",
            self._settings.cache.top,
            {"window": _key(window), "limit": limit},
            lambda: self.queries.top_event_types(window, limit),
        )

    def distinct_users(
        self, start: datetime | None, end: datetime | None, event_type: EventType | None
    ) -> PreparedQuery:
        window = self._rollup_window(start, end, Granularity.HOUR)
        return self._prepare(
            "distinct_users",
            self._settings.cache.distinct_users,
            {"window": _key(window), "event_type": event_type},
            lambda: self.queries.distinct_users(window, event_type),
        )

    def top_users(
        self, start: datetime | None, end: datetime | None, limit: int, cursor: str | None
    ) -> PreparedQuery:
        window = self._raw_window(start, end)
        return self._prepare(
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
    ) -> PreparedQuery:
        user = check_user_id(user_id)
        window = self._raw_window(start, end)
        return self._prepare(
            "user_events",
            self._settings.cache.users,
            {"user": user, "window": _key(window), "limit": limit, "cursor": cursor},
            lambda: self.queries.user_events(user, window, limit, cursor),
        )

    def user_sessions(self, user_id: str, limit: int, cursor: str | None) -> PreparedQuery:
        user = check_user_id(user_id)
        return self._prepare(
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
    ) -> PreparedQuery:
        window = self._raw_window(start, end)
        return self._prepare(
            "funnel",
            self._settings.cache.funnel,
            {"steps": steps, "window_seconds": window_seconds, "window": _key(window)},
            lambda: self.queries.funnel(steps, window_seconds, window),
        )

    def freshness(self) -> PreparedQuery:
        """The latest stored event; the lag is recomputed on every answer, cached or not."""
        return PreparedQuery(
            "freshness",
            self._settings.cache.freshness,
            {},
            lambda: dump_json(self.queries.freshness(datetime.now(UTC))),
            finish=with_current_lag,
        )

    async def answer_async(self, prepared: PreparedQuery) -> Answer:
        """Answers held in this process come straight back, even past their TTL (they
        are keyed by the data version, so still current): one background computation
        then refreshes them. Anything that needs Redis or ClickHouse runs in a worker
        thread, once per question at a time: concurrent requests await that one (a storm
        of threads waiting on the same answer would starve the event loop)."""
        if self._cache is not None:
            local = self._cache.local_answer(prepared.name, prepared.parameters)
            if local is not None:
                if local.due:
                    self._in_flight.start(prepared, self._shared_answer)
                return prepared.finish(local.answer)
        return prepared.finish(await self._in_flight.run(prepared, self._shared_answer))

    def _shared_answer(self, prepared: PreparedQuery) -> Answer:
        if self._cache is None:
            return Answer(prepared.compute(), CacheStatus.BYPASS, None)
        return self._cache.answer(
            prepared.name, prepared.ttl_seconds, prepared.parameters, prepared.compute
        )

    def _prepare(
        self, query: str, ttl: int, parameters: dict[str, Any], compute: Callable[[], BaseModel]
    ) -> PreparedQuery:
        return PreparedQuery(query, ttl, parameters, lambda: dump_json(compute()))

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
