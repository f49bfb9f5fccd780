"""Concurrent requests for one question share one computation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from workloads.serving.cache import Answer, CacheStatus
from workloads.serving.prepared import InFlight, PreparedQuery


def _prepared(name: str, **parameters: object) -> PreparedQuery:
    return PreparedQuery(name, 30, dict(parameters), lambda: b"{}")


def test_one_computation_serves_concurrent_callers() -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def slow(prepared: PreparedQuery) -> Answer:
        with lock:
            calls.append(prepared.name)
        time.sleep(0.1)
        return Answer(prepared.name.encode(), CacheStatus.MISS, 1)

    async def scenario() -> list[Answer]:
        in_flight = InFlight()
        same = [in_flight.run(_prepared("a", x=1), slow) for _ in range(20)]
        other = in_flight.run(_prepared("a", x=2), slow)
        return await asyncio.gather(*same, other)

    answers = asyncio.run(scenario())
    assert calls == ["a", "a"]  # one per distinct question, not 21
    assert {answer.body for answer in answers} == {b"a"}


def test_a_failure_reaches_every_caller_and_is_not_remembered() -> None:
    attempts: list[int] = []

    def failing(prepared: PreparedQuery) -> Answer:
        attempts.append(1)
        time.sleep(0.05)
        raise ConnectionError("down")

    async def scenario() -> list[BaseException | Answer]:
        in_flight = InFlight()
        first = await asyncio.gather(
            *[in_flight.run(_prepared("q"), failing) for _ in range(5)], return_exceptions=True
        )
        with pytest.raises(ConnectionError):
            await in_flight.run(_prepared("q"), failing)  # tried again, not a cached failure
        return first

    results = asyncio.run(scenario())
    assert all(isinstance(result, ConnectionError) for result in results)
    assert len(attempts) == 2
