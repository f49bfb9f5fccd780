"""In-process answers: LRU, due after their TTL, dropped after twice the TTL."""

from __future__ import annotations

import time

from workloads.serving.local_cache import LocalAnswers


def test_an_entry_is_fresh_then_due_then_gone() -> None:
    answers = LocalAnswers(max_entries=10)
    answers.put("k", b"body", ttl_seconds=0.2)
    fresh = answers.get("k")
    assert fresh is not None and fresh.body == b"body" and not fresh.due
    time.sleep(0.25)
    due = answers.get("k")
    assert due is not None and due.due  # still served, while one caller recomputes it
    time.sleep(0.2)
    assert answers.get("k") is None


def test_the_least_recently_used_entry_is_evicted() -> None:
    answers = LocalAnswers(max_entries=2)
    answers.put("a", b"1", 60)
    answers.put("b", b"2", 60)
    assert answers.get("a") is not None  # a is now the most recently used
    answers.put("c", b"3", 60)
    assert answers.get("b") is None
    assert answers.get("a") is not None and answers.get("c") is not None
