"""The API as the platform process serves it, while the pipeline commits batches."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis
from playwright.sync_api import sync_playwright

from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.pipeline_run import RunSummary
from tests.integration.serving.conftest import produce
from workloads.storage.data_version import DATA_VERSION_KEY

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
# Flags for a headless browser in a container: no sandbox (no user namespaces) and
# nothing that calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _total_events(live: httpx.Client, start: datetime, end: datetime) -> tuple[int, Any]:
    response = live.get(
        "/v1/events/counts",
        params={"start": start.isoformat(), "end": end.isoformat(), "granularity": "hour"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return sum(point["events"] for point in body["data"]["points"]), body["meta"]


def test_dashboard_chart_shows_data_from_the_running_platform(
    processes: LocalProcesses, live: httpx.Client, artifacts: Path
) -> None:
    url = f"{live.base_url}/#key={processes.dashboard_key()}"
    screenshot = artifacts / "dashboard.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.goto(url)
            page.wait_for_function(
                "Number(document.getElementById('chart').dataset.points) > 0", timeout=30_000
            )
            points = int(page.get_attribute("#chart", "data-points") or 0)
            top = page.locator("#top li").all_inner_texts()
            status = page.inner_text("#status")
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    counts = live.get("/v1/events/counts", params={"granularity": "minute"}).json()
    assert points > 0 and counts["data"]["points"]
    assert top and all(":" in line for line in top)
    assert "data version" in status and "failed" not in status
    assert screenshot.stat().st_size > 10_000


def _repeated_answer(
    live: httpx.Client, start: datetime, end: datetime
) -> tuple[int, dict[str, Any]]:
    """The total and meta of a question asked twice at one data version.

    Any commit bumps the version, a sessions batch too (CI once saw one land between the
    two requests), and an answer for a new version is rightly a miss.
    """
    for _ in range(10):
        _, first = _total_events(live, start, end)
        total, second = _total_events(live, start, end)
        if second["data_version"] == first["data_version"]:
            return total, second
    raise AssertionError("the data version moved between every pair of requests")


def test_a_cached_answer_never_hides_a_committed_batch(
    processes: LocalProcesses, control: ControlClient, live: httpx.Client, served: RunSummary
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    end = datetime.now(UTC) + timedelta(hours=1)
    before, meta = _repeated_answer(live, start, end)
    assert meta["cache"] == "hit"  # the cache is on, so what follows could fail

    # (rows committed, rows answered, whether the answer's data version covers them)
    observations: list[tuple[int, int, bool]] = []
    versions = redis.Redis.from_url(processes.redis_url())
    stored_at_start = int(control.stats()["rows_stored"])
    producing = threading.Thread(
        target=produce,
        args=(processes, control, 20_000),
        kwargs={"rate_per_second": 4_000, "malformed_share": 0.0, "late_share": 0.0},
    )
    producing.start()
    while producing.is_alive():
        # Rows the sink has committed before the request was sent must be in any answer
        # labelled with the data version current then (the sink bumps the version before
        # it counts the rows). The app learns of a bump over pub/sub a moment later, and
        # an answer it gives for the version before is labelled so and not held to them.
        committed = int(control.stats()["rows_stored"]) - stored_at_start
        version = int(cast(bytes, versions.get(DATA_VERSION_KEY)))
        answered, answer_meta = _total_events(live, start, end)
        covers = answer_meta["data_version"] is not None and answer_meta["data_version"] >= version
        observations.append((committed, answered - before, covers))
        time.sleep(0.02)  # within the key's rate limit (6,000 a minute)
    producing.join()
    committed = int(control.stats()["rows_stored"]) - stored_at_start
    answered, meta = _total_events(live, start, end)

    assert committed == 20_000  # every event valid and on time in this run
    assert answered - before == committed
    covering = [(c, a) for c, a, covers in observations if covers]
    assert len(covering) > 10 and len(covering) * 2 > len(observations)
    assert covering[-1][0] > 0
    hidden = [(c, a) for c, a in covering if a < c]
    assert not hidden, f"answers missed committed rows: {hidden[:5]}"
    assert meta["data_version"] is not None


def test_the_fault_switch_cuts_the_live_query_path(
    control: ControlClient, live: httpx.Client
) -> None:
    # A question nobody asked before: with the query path cut it has no cached answer.
    params = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:07:00Z", "limit": "3"}
    control.set_faults(clickhouse_unavailable=True)
    try:
        cut = live.get("/v1/events/top-types", params=params)
        ready = live.get("/readyz")
    finally:
        control.set_faults(clickhouse_unavailable=False)
    assert cut.status_code == 503 and cut.headers["Retry-After"]
    assert cut.json()["error"] == "unavailable"
    assert ready.status_code == 503 and ready.json()["checks"]["clickhouse"] is False
    assert live.get("/v1/events/top-types", params=params).status_code == 200
