"""A validated question, ready to be answered from a cache or ClickHouse."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import orjson
from pydantic import BaseModel

from workloads.serving.cache import Answer
from workloads.serving.models import Freshness


def dump_json(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))


def unchanged(answer: Answer) -> Answer:
    return answer


def with_current_lag(answer: Answer) -> Answer:
    """A freshness answer with its lag measured now, however old the cached copy."""
    fresh = Freshness.model_validate_json(answer.body)
    if fresh.latest_event_time is not None:
        lag = (datetime.now(UTC) - fresh.latest_event_time).total_seconds()
        fresh = fresh.model_copy(update={"lag_seconds": max(lag, 0.0)})
    return Answer(dump_json(fresh), answer.status, answer.version)


@dataclass(frozen=True)
class PreparedQuery:
    """Its cache identity (name and parameters), TTL, and how to compute it."""

    name: str
    ttl_seconds: int
    parameters: dict[str, Any]
    compute: Callable[[], bytes]
    finish: Callable[[Answer], Answer] = unchanged


class InFlight:
    """One computation per question at a time in this process; others await its result.

    The computation is a task of its own, so a caller that goes away (a closed
    connection) does not cancel it for the others.
    """

    def __init__(self) -> None:
        self._pending: dict[bytes, asyncio.Task[Answer]] = {}

    async def run(
        self, prepared: PreparedQuery, blocking: Callable[[PreparedQuery], Answer]
    ) -> Answer:
        return await asyncio.shield(self.start(prepared, blocking))

    def start(
        self, prepared: PreparedQuery, blocking: Callable[[PreparedQuery], Answer]
    ) -> asyncio.Task[Answer]:
        """The computation of `prepared`: the one under way, or a new one."""
        key = prepared.name.encode() + orjson.dumps(
            prepared.parameters, option=orjson.OPT_SORT_KEYS
        )
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(anyio.to_thread.run_sync(blocking, prepared))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _forget(self, key: bytes, done: asyncio.Task[Answer]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: a failure nobody awaited any more is not reported
