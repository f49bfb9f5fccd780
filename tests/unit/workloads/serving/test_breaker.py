"""The circuit breaker opens on failures and never serializes concurrent calls."""

from __future__ import annotations

import threading

import pybreaker
import pytest

from workloads.serving.breaker import ConcurrentCircuitBreaker


def _fail() -> None:
    raise ConnectionError("down")


def test_opens_after_consecutive_failures_then_fails_fast() -> None:
    breaker = ConcurrentCircuitBreaker(fail_max=3, reset_timeout=60)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(_fail)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(_fail)  # the third failure opens it
    calls: list[int] = []
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(calls.append, 1)
    assert calls == []  # open: the dependency is not called at all


def test_a_slow_call_does_not_block_another() -> None:
    breaker = ConcurrentCircuitBreaker(fail_max=3, reset_timeout=60)
    release = threading.Event()
    slow = threading.Thread(target=breaker.call, args=(release.wait, 10))
    slow.start()
    try:
        finished = threading.Event()
        fast = threading.Thread(target=breaker.call, args=(finished.set,))
        fast.start()
        fast.join(timeout=2)
        assert finished.is_set()  # pybreaker's own call() would wait for the slow one
    finally:
        release.set()
        slow.join()
