"""One local platform for the integration tests, on real engines and free ports.

The processes (Kafka broker in KRaft mode, redis-server, the platform process with chDB and
the Spark streaming job) runs in a temporary run directory, so tests never touch a
developer's own `rtap up`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.ports import free_ports
from core.stack_config import find_project_dir, load_stack
from infra.settings import StackSettings
from rtap.local.platform.control_client import ControlClient
from rtap.local.processes.local_processes import LocalProcesses

log = logging.getLogger("rtap.tests")


# These load the platform with events no ground truth of the other tests knows, or
# measure what those tests stored.
_AFTER_THE_VERIFIED_RUNS = ("test_loadtest", "test_bench_storage", "test_bench_soak_query")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the `offline` serving fixture stop the platform process: run them last.
    The live-alert tests stop Redis and the broker: they run just before those. The load
    test and the soak produce events no ground truth knows of: they run after the
    verified runs, and so does the storage benchmark, which measures what they stored."""
    items.sort(
        key=lambda item: (
            "offline" in getattr(item, "fixturenames", ()),
            "test_live_alerts" in item.nodeid,
            any(name in item.nodeid for name in _AFTER_THE_VERIFIED_RUNS),
        )
    )


@pytest.fixture(scope="session")
def platform_environ(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The RTAP_* overrides of the tests' platform: an rtap command run with them in its
    environment (`rtap loadtest`, say) works on that platform."""
    kafka, controller, redis, platform, prometheus, kafka_metrics, redis_exporter = free_ports(7)
    return {
        "RTAP_LOCAL__RUN_DIR": str(tmp_path_factory.mktemp("rtap") / "run"),
        "RTAP_LOCAL__KAFKA_PORT": str(kafka),
        "RTAP_LOCAL__KAFKA_CONTROLLER_PORT": str(controller),
        "RTAP_LOCAL__REDIS_PORT": str(redis),
        "RTAP_LOCAL__PLATFORM_PORT": str(platform),
        "RTAP_LOCAL__PROMETHEUS_PORT": str(prometheus),
        "RTAP_LOCAL__KAFKA_METRICS_PORT": str(kafka_metrics),
        "RTAP_LOCAL__REDIS_EXPORTER_PORT": str(redis_exporter),
        # Alerts fire and clear within seconds (the default, 10 s, is for ingest's sake).
        "RTAP_LOCAL__MONITORING_INTERVAL_SECONDS": "2",
        # Short gaps and watermark, so that sessions close while the tests run.
        "RTAP_STREAMING__SESSION_GAP_SECONDS": "5",
        "RTAP_STREAMING__WATERMARK_DELAY_SECONDS": "5",
        # 10 s, not 2: a 2 s trigger took enough of the two cores to break the load
        # test's local SLA on a slow host.
        "RTAP_STREAMING__SESSION_TRIGGER_INTERVAL_MS": "10000",
    }


@pytest.fixture(scope="session")
def processes(platform_environ: dict[str, str]) -> Iterator[LocalProcesses]:
    settings = load_stack(StackSettings, "local", find_project_dir(), environ=platform_environ)
    processes = LocalProcesses(settings, find_project_dir())
    processes.start(lambda step: log.info("starting: %s", step))
    try:
        yield processes
    finally:
        processes.stop()


@pytest.fixture(scope="session")
def control(processes: LocalProcesses) -> ControlClient:
    return processes.control()
