"""The serving layer over data the real pipeline wrote.

Two ways in, on the same data:

- `live`: HTTP against the platform process (the deployment users run), for the
  dashboard, and for freshness while batches commit.
- `offline`: the platform is stopped and this process opens its chDB data directory,
  so tests can compare the API with direct SQL and cut ClickHouse or Redis at will.
  Tests that use it stop the platform, so the integration conftest runs them last.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.pipeline_run import PipelineRun, RunSummary
from workloads.serving.app import create_app
from workloads.serving.auth import KeyStore, Scope
from workloads.serving.bootstrap import build_context
from workloads.serving.dependencies import ServingContext
from workloads.serving.settings import ServingSettings
from workloads.storage.client import connect

EVENTS = 40_000
JWT_SECRET = "integration-test-signing-secret-0123456789"


def produce(
    processes: LocalProcesses, control: ControlClient, events: int, **update: Any
) -> RunSummary:
    """Send `events` through the pipeline, wait until stored, and verify the run."""
    producer = processes.settings.producer.model_copy(
        update={"rate_per_second": 10_000, "users": 500, **update}
    )
    run = PipelineRun(processes, control, producer)
    run.prepare()
    run.produce(None, threading.Event(), limit=events)
    run.drain(timeout_s=300)
    summary = run.verify()
    assert summary.passed, summary.problems
    return summary


@pytest.fixture(scope="session")
def served(processes: LocalProcesses, control: ControlClient) -> RunSummary:
    """Events written by the real pipeline, some malformed and some late."""
    return produce(processes, control, EVENTS, malformed_share=0.01, late_share=0.02)


@pytest.fixture(scope="session")
def live(processes: LocalProcesses, served: RunSummary) -> Iterator[httpx.Client]:
    """The platform's own API, with the local read key."""
    port = processes.settings.local.platform_port
    headers = {"X-API-Key": processes.dashboard_key()}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def artifacts() -> Path:
    directory = Path(os.environ.get("RTAP_TEST_ARTIFACTS", ".rtap/test-artifacts")).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@dataclass
class Offline:
    """The serving layer in this process, over the data the platform left behind."""

    clickhouse: Any
    database: str
    redis_url: str
    keys: KeyStore
    full_key: str
    events_key: str

    def context(self, redis_url: str | None = "", **settings: Any) -> ServingContext:
        return build_context(
            clickhouse_clients=[self.clickhouse],
            database=self.database,
            redis_url=self.redis_url if redis_url == "" else redis_url,
            settings=ServingSettings(**settings),
            environment="local",
            keys_file=self.keys.path,
            jwt_secret=JWT_SECRET,
        )

    def client(self, app: FastAPI, key: str | None = None) -> TestClient:
        headers = {"X-API-Key": key if key is not None else self.full_key}
        return TestClient(app, headers=headers, raise_server_exceptions=False)

    def span(self) -> dict[str, str]:
        """Query parameters for a range covering every stored event, to the minute."""
        first, last = self.sql(
            "SELECT min(event_time), max(event_time) FROM {db:Identifier}.events_raw"
        )[0]
        start = first.replace(tzinfo=UTC, second=0, microsecond=0)
        end = last.replace(tzinfo=UTC, second=0, microsecond=0) + timedelta(minutes=1)
        return {"start": start.isoformat(), "end": end.isoformat()}

    def sql(self, query: str, **parameters: Any) -> list[tuple[Any, ...]]:
        result = self.clickhouse.query(query, parameters={"db": self.database, **parameters})
        return list(result.result_rows)


@pytest.fixture(scope="session")
def offline(
    processes: LocalProcesses, served: RunSummary, tmp_path_factory: pytest.TempPathFactory
) -> Offline:
    processes.stop_platform()
    keys = KeyStore(tmp_path_factory.mktemp("keys") / "api-keys.json")
    _, full_key = keys.create("tests", [Scope.EVENTS_READ, Scope.USERS_READ])
    _, events_key = keys.create("events only", [Scope.EVENTS_READ])
    return Offline(
        clickhouse=connect(processes.settings.clickhouse, processes.paths.clickhouse_data),
        database=processes.settings.clickhouse.database,
        redis_url=processes.redis_url(),
        keys=keys,
        full_key=full_key,
        events_key=events_key,
    )


@pytest.fixture(scope="session")
def api(offline: Offline) -> Iterator[TestClient]:
    """The app with Redis and default settings, authenticated with a full read key."""
    with offline.client(create_app(offline.context(rate_limit_per_minute=1_000_000))) as client:
        yield client
