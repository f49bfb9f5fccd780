"""ClickHouseReader's client pool: concurrent queries run on different clients, each
client runs one query at a time, and a failed query gives its client back."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from workloads.serving.clickhouse_reader import ClickHouseReader
from workloads.serving.observability import ServingMetrics
from workloads.serving.settings import ServingSettings


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class _GatedClient:
    """Answers with its own name once `gate` opens; counts the queries it runs at once."""

    def __init__(self, name: str, gate: threading.Event) -> None:
        self.name, self.gate = name, gate
        self.running = 0
        self.most_at_once = 0
        self.started = threading.Event()
        self._lock = threading.Lock()

    def query(self, sql: str, parameters: dict[str, Any], settings: dict[str, Any]) -> _Rows:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.set()
        try:
            if sql == "fail":
                raise DatabaseError("Code: 62. Syntax error")
            self.gate.wait(5)
            return _Rows([(self.name,)])
        finally:
            with self._lock:
                self.running -= 1


def _reader(clients: list[Any]) -> ClickHouseReader:
    return ClickHouseReader(clients, ServingSettings(), ServingMetrics())


def _in_thread(reader: ClickHouseReader, answers: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: answers.append(reader.rows("q", "SELECT", {})[0][0]))
    thread.start()
    return thread


def test_two_concurrent_queries_run_on_two_clients() -> None:
    gate = threading.Event()
    first, second = _GatedClient("a", gate), _GatedClient("b", gate)
    reader = _reader([first, second])
    answers: list[str] = []
    threads = [_in_thread(reader, answers) for _ in range(2)]
    # Both are in flight at once, one on each client, before either may finish.
    assert first.started.wait(5) and second.started.wait(5)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert sorted(answers) == ["a", "b"]
    assert first.most_at_once == second.most_at_once == 1


def test_one_client_runs_one_query_at_a_time() -> None:
    gate = threading.Event()
    only = _GatedClient("a", gate)
    reader = _reader([only])
    answers: list[str] = []
    threads = [_in_thread(reader, answers) for _ in range(3)]
    assert only.started.wait(5)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert answers == ["a", "a", "a"]
    assert only.most_at_once == 1


def test_a_failed_query_gives_its_client_back() -> None:
    gate = threading.Event()
    gate.set()
    only = _GatedClient("a", gate)
    reader = _reader([only])
    with pytest.raises(DatabaseError):
        reader.rows("q", "fail", {})
    assert reader.rows("q", "SELECT", {}) == [("a",)]


def test_a_reader_needs_a_client() -> None:
    with pytest.raises(ValueError, match="at least one client"):
        _reader([])
