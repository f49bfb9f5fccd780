"""The query layer: one function per question, each one parameterized SQL.

REST and GraphQL both call these, so they cannot disagree. No SQL is ever built from
input strings: values are bound parameters, identifiers are `Identifier` parameters,
and the few fragments that vary (the bucket function, the funnel's conditions) are
chosen from fixed text by validated enums and counts.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from workloads.events.api import Event
from workloads.events.model import FIELD_NAMES, EventType
from workloads.serving.clickhouse_reader import ClickHouseReader
from workloads.serving.models import (
    CountPoint,
    DistinctUsers,
    EventCounts,
    Freshness,
    Funnel,
    FunnelStep,
    Granularity,
    InvalidRequestError,
    Session,
    TopEventTypes,
    TopUsers,
    TypeCount,
    UserCount,
    UserEvents,
    UserSessions,
    as_utc,
    decode_cursor,
    encode_cursor,
)
from workloads.serving.settings import ServingSettings
from workloads.serving.windows import EARLIEST, LATEST, Window

_BUCKETS = {
    Granularity.MINUTE: "minute",
    Granularity.HOUR: "toStartOfHour(minute)",
    Granularity.DAY: "toStartOfDay(minute)",
}
_ROLLUP_RANGE = "minute >= {start:DateTime} AND minute < {end:DateTime}"
_RAW_RANGE = "event_time >= {start:DateTime64(3)} AND event_time < {end:DateTime64(3)}"
_TYPE_FILTER = "(empty({types:Array(String)}) OR has({types:Array(String)}, event_type))"
_NO_CURSOR_COUNT = 2**63 - 1
_FAR_FUTURE = LATEST
_MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"


class Queries:
    def __init__(self, reader: ClickHouseReader, database: str, settings: ServingSettings) -> None:
        self._reader = reader
        self._db = database
        self._settings = settings

    def window(self, start: datetime, end: datetime, granularity: Granularity) -> Window:
        longest = {
            Granularity.MINUTE: timedelta(hours=self._settings.max_minute_range_hours),
            Granularity.HOUR: timedelta(days=self._settings.max_hour_range_days),
            Granularity.DAY: timedelta(days=self._settings.max_day_range_days),
        }[granularity]
        return Window.checked(start, end, longest)

    def raw_window(self, start: datetime, end: datetime) -> Window:
        return Window.checked(start, end, timedelta(days=self._settings.max_raw_range_days))

    def event_counts(
        self, window: Window, granularity: Granularity, event_types: list[EventType]
    ) -> EventCounts:
        rows = self._rows(
            "event_counts",
            f"SELECT {_BUCKETS[granularity]} AS bucket, event_type, sum(events), sum(value_sum) "
            f"FROM {{db:Identifier}}.events_per_minute WHERE {_ROLLUP_RANGE} AND {_TYPE_FILTER} "
            "GROUP BY bucket, event_type ORDER BY bucket, event_type",
            {**window.parameters(), "types": [t.value for t in event_types]},
        )
        points = [
            CountPoint(bucket=as_utc(b), event_type=t, events=n, value_sum=s) for b, t, n, s in rows
        ]
        return EventCounts(
            granularity=granularity, start=window.start, end=window.end, points=points
        )

    def top_event_types(self, window: Window, limit: int) -> TopEventTypes:
        rows = self._rows(
            "top_event_types",
            "SELECT event_type, sum(events) AS n FROM {db:Identifier}.events_per_minute "
            f"WHERE {_ROLLUP_RANGE} GROUP BY event_type ORDER BY n DESC, event_type "
            "LIMIT {limit:UInt32}",
            {**window.parameters(), "limit": limit},
        )
        return TopEventTypes(items=[TypeCount(event_type=t, events=n) for t, n in rows])

    def distinct_users(self, window: Window, event_type: EventType | None) -> DistinctUsers:
        parameters = {**window.parameters(), "types": [event_type.value] if event_type else []}
        where = f"WHERE {_ROLLUP_RANGE} AND {_TYPE_FILTER}"
        # Rows written before migration 0004 have no sketch: such windows merge the
        # (slower) uniq states instead. Reading a states column costs its deserialization
        # whether or not it is aggregated, hence two queries rather than one if().
        complete = self._rows(
            "distinct_users_complete",
            f"SELECT min(users_sketch_complete) FROM {{db:Identifier}}.events_per_minute {where}",
            parameters,
        )[0][0]
        merge = "uniqCombinedMerge(14)(users_sketch)" if complete else "uniqMerge(users)"
        rows = self._rows(
            "distinct_users",
            f"SELECT {merge} FROM {{db:Identifier}}.events_per_minute {where}",
            parameters,
        )
        return DistinctUsers(users=int(rows[0][0]), event_type=event_type)

    def top_users(self, window: Window, limit: int, cursor: str | None) -> TopUsers:
        after_events, after_user = decode_cursor(cursor, 2) if cursor else [_NO_CURSOR_COUNT, ""]
        if (
            not isinstance(after_events, int)
            or not 0 <= after_events <= _NO_CURSOR_COUNT
            or not isinstance(after_user, str)
        ):
            raise InvalidRequestError("cursor", "malformed; pass next_cursor back unchanged")
        rows = self._rows(
            "top_users",
            "SELECT user_id, count() AS n FROM {db:Identifier}.events_raw "
            f"WHERE {_RAW_RANGE} GROUP BY user_id "
            "HAVING n < {after_n:UInt64} "
            "OR (n = {after_n:UInt64} AND user_id > {after_user:String}) "
            "ORDER BY n DESC, user_id LIMIT {limit:UInt32}",
            {
                **window.parameters(),
                "after_n": after_events,
                "after_user": after_user,
                "limit": limit,
            },
        )
        items = [UserCount(user_id=u, events=n) for u, n in rows]
        last = [items[-1].events, items[-1].user_id] if len(items) == limit else None
        return TopUsers(items=items, next_cursor=encode_cursor(last) if last else None)

    def user_events(
        self, user_id: str, window: Window, limit: int, cursor: str | None
    ) -> UserEvents:
        before_time, before_id = self._time_cursor(cursor, _MAX_UUID)
        columns = ", ".join(FIELD_NAMES)
        rows = self._rows(
            "user_events",
            f"SELECT {columns} FROM {{db:Identifier}}.events_raw "
            f"WHERE user_id = {{user:String}} AND {_RAW_RANGE} "
            "AND (event_time, event_id) < ({before:DateTime64(3)}, {before_id:UUID}) "
            "ORDER BY event_time DESC, event_id DESC LIMIT {limit:UInt32}",
            {
                **window.parameters(),
                "user": user_id,
                "before": before_time,
                "before_id": before_id,
                "limit": limit,
            },
        )
        items = [
            Event.model_validate(
                {
                    name: as_utc(value) if isinstance(value, datetime) else value
                    for name, value in zip(FIELD_NAMES, row, strict=True)
                }
            )
            for row in rows
        ]
        last = items[-1] if len(items) == limit else None
        next_cursor = (
            encode_cursor([as_utc(last.event_time).isoformat(), str(last.event_id)])  # type: ignore[attr-defined]
            if last
            else None
        )
        return UserEvents(user_id=user_id, items=items, next_cursor=next_cursor)

    def user_sessions(self, user_id: str, limit: int, cursor: str | None) -> UserSessions:
        before, _ = self._time_cursor(cursor, "")
        rows = self._rows(
            "user_sessions",
            "SELECT session_start, session_end, last_event_time, events, value_sum, event_types "
            "FROM {db:Identifier}.user_sessions WHERE user_id = {user:String} "
            "AND session_start < {before:DateTime64(3)} "
            "ORDER BY session_start DESC LIMIT 1 BY session_start LIMIT {limit:UInt32}",
            {"user": user_id, "before": before, "limit": limit},
        )
        items = [
            Session(
                session_start=as_utc(s),
                session_end=as_utc(e),
                last_event_time=as_utc(t),
                events=n,
                value_sum=v,
                event_types=types,
            )
            for s, e, t, n, v, types in rows
        ]
        last = items[-1] if len(items) == limit else None
        next_cursor = encode_cursor([last.session_start.isoformat(), ""]) if last else None
        return UserSessions(user_id=user_id, items=items, next_cursor=next_cursor)

    def funnel(self, steps: list[EventType], window_seconds: int, window: Window) -> Funnel:
        if not 2 <= len(steps) <= self._settings.max_funnel_steps:  # noqa: PLR2004
            raise InvalidRequestError(
                "steps", f"give between 2 and {self._settings.max_funnel_steps} steps"
            )
        conditions = ", ".join(f"event_type = {{s{i}:String}}" for i in range(len(steps)))
        rows = self._rows(
            "funnel",
            "SELECT level, count() FROM (SELECT user_id, "
            f"windowFunnel({{window:UInt64}})(toDateTime(event_time), {conditions}) AS level "
            f"FROM {{db:Identifier}}.events_raw WHERE {_RAW_RANGE} "
            "AND has({types:Array(String)}, event_type) GROUP BY user_id) "
            "GROUP BY level",
            {
                **window.parameters(),
                "window": window_seconds,
                "types": [s.value for s in steps],
                **{f"s{i}": s.value for i, s in enumerate(steps)},
            },
        )
        reached = dict(rows)
        result = [
            FunnelStep(
                step=i + 1,
                event_type=step,
                users=sum(n for level, n in reached.items() if level > i),
            )
            for i, step in enumerate(steps)
        ]
        return Funnel(window_seconds=window_seconds, steps=result)

    def freshness(self, now: datetime) -> Freshness:
        latest, ingested, count = self._rows(
            "freshness",
            # The newest minute comes from the parts' min/max index; each minute row
            # carries its latest event and ingest times (migration 0004).
            "WITH (SELECT max(minute) FROM {db:Identifier}.events_per_minute) AS newest "
            "SELECT max(latest_event_time), max(latest_ingested_at), sum(events) "
            "FROM {db:Identifier}.events_per_minute WHERE minute >= newest - INTERVAL 10 MINUTE",
            {},
        )[0]
        if count and as_utc(latest) <= EARLIEST:  # only rows from before migration 0004
            latest, ingested, count = self._rows(
                "freshness_raw",
                "WITH (SELECT max(event_time) FROM {db:Identifier}.events_raw) AS latest "
                "SELECT latest, max(ingested_at), count() FROM {db:Identifier}.events_raw "
                "WHERE event_time >= latest - INTERVAL 10 MINUTE",
                {},
            )[0]
        if not count:
            return Freshness(latest_event_time=None, latest_ingested_at=None, lag_seconds=None)
        latest, ingested = as_utc(latest), as_utc(ingested)
        return Freshness(
            latest_event_time=latest,
            latest_ingested_at=ingested,
            lag_seconds=max((now - latest).total_seconds(), 0.0),
        )

    def _rows(self, query: str, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._reader.rows(query, sql, {"db": self._db, **parameters})

    @staticmethod
    def _time_cursor(cursor: str | None, default_id: str) -> tuple[datetime, str]:
        if not cursor:
            return _FAR_FUTURE, default_id
        moment, identity = decode_cursor(cursor, 2)
        malformed = InvalidRequestError("cursor", "malformed; pass next_cursor back unchanged")
        try:
            parsed = as_utc(datetime.fromisoformat(moment))
            identity = str(uuid.UUID(identity)) if identity else ""
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise malformed from None
        if not EARLIEST <= parsed <= LATEST:
            raise malformed
        return parsed, identity or default_id
