"""The local platform as a load test's target: the running one, or one brought up for
the test and stopped after it, with API keys of the test's own."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from rich.console import Console

from loadtests.loadtest_run import LoadTarget
from rtap.local.processes.local_processes import LocalProcesses
from rtap.local.runs.run import running_platform
from workloads.serving.auth import KeyStore, Scope

# Each key stays within this share of the API's per-key rate limit, so that the test
# measures the API rather than its limiter.
_LIMIT_SHARE = 0.5
# A running API re-reads its key file this often (workloads/serving/auth.py).
_KEY_RELOAD_S = 1.5


def keys_needed(requests_per_second: float, limit_per_minute: int) -> int:
    """API keys to spread `requests_per_second` over, each within its share of the limit."""
    per_key = limit_per_minute / 60 * _LIMIT_SHARE
    return max(1, math.ceil(requests_per_second / per_key))


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
        store = KeyStore(processes.paths.api_keys)
        count = keys_needed(requests_per_second, processes.settings.serving.rate_limit_per_minute)
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
