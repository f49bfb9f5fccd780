"""Synthetic event history generated inside ClickHouse, for read benchmarks.

Benchmarks of the serving layer need millions of stored events; pushing them through
Kafka and Spark would measure the pipeline, not the API. ClickHouse generates them
here from `numbers()`, deterministically (every column is a hash of the row number and
the seed), and the inserts go through the same materialized views as the pipeline's,
so rollups match the raw rows exactly as they do in production.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from workloads.events.model import EventType

_CHUNK_ROWS = 1_000_000
_HOUR = timedelta(hours=1)

# The database name comes from validated settings; every value is a bound parameter.
_INSERT = """
INSERT INTO $database.events_raw
    (event_id, event_time, user_id, session_id, event_type, value, properties,
     kafka_partition, kafka_offset, ingested_at)
SELECT
    reinterpretAsUUID(concat(
        reinterpretAsString(cityHash64(number, {seed:UInt64}, 1)),
        reinterpretAsString(cityHash64(number, {seed:UInt64}, 2)))) AS event_id,
    fromUnixTimestamp64Milli(
        {end_ms:Int64} - toInt64(intDiv(number * {span_ms:UInt64}, {total:UInt64})),
        'UTC') AS event_time,
    concat('user-', toString(cityHash64(number, {seed:UInt64}, 3) % {users:UInt64})) AS user_id,
    concat(user_id, '-', toString(intDiv(toUnixTimestamp(event_time), 1800))) AS session_id,
    {types:Array(String)}[arrayFirstIndex(
        c -> (cityHash64(number, {seed:UInt64}, 4) % 1000000) / 1000000 < c,
        {cumulative:Array(Float64)})] AS event_type,
    (cityHash64(number, {seed:UInt64}, 5) % 100000) / 100 AS value,
    map('page', concat('/p/', toString(cityHash64(number, {seed:UInt64}, 6) % 50))),
    toUInt16(number % 12),
    number,
    event_time + toIntervalSecond(1)
FROM numbers({first:UInt64}, {count:UInt64})
"""


# One session per user and synthetic session id (a user's 30-minute bucket), as the
# streaming job would close it: it ends a gap after its last event.
_INSERT_SESSIONS = """
INSERT INTO $database.user_sessions
    (user_id, session_start, session_end, last_event_time, events, value_sum, event_types,
     ingested_at)
SELECT
    user_id,
    min(event_time),
    max(event_time) + toIntervalSecond({gap_s:UInt32}),
    max(event_time),
    toUInt32(count()),
    sum(value),
    arraySort(groupUniqArray(event_type)),
    max(ingested_at)
FROM $database.events_raw
WHERE event_time >= {start:DateTime64(3, 'UTC')} AND event_time < {end:DateTime64(3, 'UTC')}
GROUP BY user_id, session_id
"""


def cumulative_mix(mix: Mapping[EventType, float]) -> tuple[list[str], list[float]]:
    """Event types and their cumulative shares; the last share is exactly 1."""
    total = sum(mix.values())
    types = [t.value for t in mix]
    cumulative = [share / total for share in itertools.accumulate(mix.values())]
    cumulative[-1] = 1.0
    return types, cumulative


def seed_events(
    client: object,
    database: str,
    *,
    events: int,
    end: datetime,
    span_seconds: int,
    users: int,
    mix: Mapping[EventType, float],
    seed: int = 1,
    progress: Callable[[int], None] = lambda _: None,
) -> None:
    """Insert `events` rows spread evenly over the `span_seconds` before `end`."""
    types, cumulative = cumulative_mix(mix)
    parameters = {
        "seed": seed,
        "end_ms": int(end.timestamp() * 1000),
        "span_ms": span_seconds * 1000,
        "total": events,
        "users": users,
        "types": types,
        "cumulative": cumulative,
    }
    sql = _INSERT.replace("$database", database)
    for first in range(0, events, _CHUNK_ROWS):
        count = min(_CHUNK_ROWS, events - first)
        client.command(sql, parameters={**parameters, "first": first, "count": count})  # type: ignore[attr-defined]
        progress(first + count)


def seed_sessions(
    client: object,
    database: str,
    *,
    start: datetime,
    end: datetime,
    gap_seconds: int,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> None:
    """Derive the sessions of the events stored in [start, end) into user_sessions.

    The streaming job makes sessions in production; a seeded history has none, so its
    sessions come from its own events, an hour at a time (a 30-minute session bucket
    never straddles an hour, and an hour's groups fit in memory at any volume).
    """
    sql = _INSERT_SESSIONS.replace("$database", database)
    first = start.replace(minute=0, second=0, microsecond=0)
    hours = [first + timedelta(hours=h) for h in range(int((end - first) / _HOUR) + 1)]
    for done, hour in enumerate(hours, 1):
        bounds = {"start": max(hour, start), "end": min(hour + _HOUR, end)}
        client.command(sql, parameters={"gap_s": gap_seconds, **bounds})  # type: ignore[attr-defined]
        progress(done, len(hours))
