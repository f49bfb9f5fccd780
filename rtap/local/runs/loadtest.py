"""The local platform as a load test's target: the running one, or one brought up for
the test and stopped after it, with API keys of the test's own.

Locally the load shares two cores with the pipeline, so a test started while the
platform still works through a backlog (a benchmark's burst: the ingest query, the
sessions query, ClickHouse's merges) measures that backlog. The target first waits until
the ingest query has read the events topic to its end and the platform's processes are
quiet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from rich.console import Console

from loadtests.ingest import PRODUCER_LABEL, CpuSampler
from loadtests.loadtest_run import LoadTarget
from rtap.local.processes.local_processes import COMPONENTS, LocalProcesses
from rtap.local.runs.run import running_platform
from workloads.kafka import end_offsets
from workloads.serving.auth import KeyStore, Scope, load_test_keys_needed

# A running API re-reads its key file this often (workloads/serving/auth.py).
_KEY_RELOAD_S = 1.5
# The longest a load test waits for the platform to settle before it starts anyway.
_SETTLE_TIMEOUT_S = 240.0
# Quiet: the platform's processes used less than this many cores over the last window.
# At rest (Prometheus scraping every 2 s, the queries polling) they use about 0.1.
_QUIET_CORES = 0.35
_WINDOW_S = 3.0


def events_behind(
    queries: Mapping[str, Mapping[str, Any]], log_end: Mapping[int, int]
) -> dict[str, int]:
    """Per streaming query that reports where it read up to, the events of the topic it
    has not read yet. (The sessions query's process reports no offsets.)"""
    return {
        name: sum(
            max(0, end - int(query["end_offsets"].get(str(partition), 0)))
            for partition, end in log_end.items()
        )
        for name, query in queries.items()
        if query.get("end_offsets")
    }


def _platform_cpu(processes: LocalProcesses) -> CpuSampler:
    return CpuSampler(lambda: {name: processes.registry.members(name) for name in COMPONENTS})


def _cores_used(before: Mapping[str, float], after: Mapping[str, float], seconds: float) -> float:
    used = sum(after[label] - before.get(label, 0.0) for label in after if label != PRODUCER_LABEL)
    return used / seconds


def wait_until_settled(
    processes: LocalProcesses, console: Console, timeout_s: float = _SETTLE_TIMEOUT_S
) -> bool:
    """Until the ingest query has read the events topic to its end as it is now, and the
    platform's processes used under _QUIET_CORES over a window; False (with a warning)
    when `timeout_s` ran out first."""
    log_end = end_offsets(processes.bootstrap, processes.settings.kafka.events_topic)
    control, sampler = processes.control(), _platform_cpu(processes)
    deadline = time.monotonic() + timeout_s
    try:
        with console.status("waiting for the platform to settle") as status:
            while True:
                before = sampler.sample()
                time.sleep(_WINDOW_S)
                cores = _cores_used(before, sampler.sample(), _WINDOW_S)
                behind = events_behind(control.stats()["queries"], log_end)
                if not any(behind.values()) and cores < _QUIET_CORES:
                    return True
                state = f"{sum(behind.values())} events behind, {cores:.2f} cores busy"
                if time.monotonic() >= deadline:
                    console.print(
                        f"[yellow]the platform has not settled after {timeout_s:.0f} s"
                        f" ({state}): the test measures that work too[/]"
                    )
                    return False
                status.update(f"waiting for the platform to settle: {state}")
    finally:
        control.close()


@contextmanager
def local_target(
    processes: LocalProcesses, console: Console, requests_per_second: float, run_id: str
) -> Iterator[LoadTarget]:
    """The local platform, started for the block when it is not running, and keys named
    `loadtest-RUN_ID-N` for it, revoked after."""
    with ExitStack() as stack:
        if processes.registry.is_running("platform"):
            console.print("using the running local platform")
        else:
            stack.enter_context(running_platform(processes, console))
        wait_until_settled(processes, console)
        store = KeyStore(processes.paths.api_keys)
        limit = processes.settings.serving.rate_limit_per_minute
        count = load_test_keys_needed(requests_per_second, limit)
        created = [
            store.create(f"loadtest-{run_id}-{i}", [Scope.EVENTS_READ, Scope.USERS_READ])
            for i in range(count)
        ]
        stack.callback(lambda: [store.revoke(record.key_id) for record, _ in created])
        time.sleep(_KEY_RELOAD_S)  # until the API has read its new keys
        yield LoadTarget(
            description="the local platform",
            api_url=f"http://127.0.0.1:{processes.settings.local.platform_port}",
            api_keys=[token for _, token in created],
            kafka_config={"bootstrap.servers": processes.bootstrap},
        )
