"""The lag scaler's Spark calls on a real cluster manager: a Spark standalone master and
worker on loopback (pyspark's own distribution), with an application whose executors
SparkExecutors counts, kills and asks for again. Local mode has no executors to scale;
the Kubernetes backend answers the same SparkContext calls."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyspark
import pytest
from pyspark.sql import SparkSession

from core.ports import free_ports
from workloads.streaming.lag_scaler import SparkExecutors

SPARK_HOME = Path(pyspark.__file__).parent
WORKER_CORES = 3


def _daemon(log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _scenario(url: str) -> dict[str, Any]:
    """Runs in a fresh interpreter: a Spark driver's JVM keeps the jars it started with,
    so a driver made here would leave later tests without their Kafka connector."""
    session = (
        SparkSession.builder.master(url)
        .appName("rtap-executor-scaling")
        .config("spark.executor.cores", "1")
        .config("spark.executor.memory", "512m")
        .config("spark.dynamicAllocation.enabled", "false")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        executors = SparkExecutors(session)
        seen: dict[str, Any] = {}
        seen["registered"] = _until(lambda: len(executors.ids()) == WORKER_CORES)
        seen["ids"] = ids = executors.ids()
        # Down: the last one goes, and the target follows, so it is not replaced.
        seen["killed"] = executors.kill(ids[-1:])
        seen["after_kill"] = _until(lambda: executors.ids() == ids[:-1])
        time.sleep(5)
        seen["still_down"] = executors.ids()
        # Up: a new total brings a new executor (a new id).
        seen["requested"] = executors.request_total(WORKER_CORES)
        seen["back_up"] = _until(lambda: len(executors.ids()) == WORKER_CORES)
        seen["final"] = executors.ids()
        seen["sum"] = session.sparkContext.parallelize(range(1000), 6).sum()
        return seen
    finally:
        session.stop()


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("standalone")
    port, master_ui, worker_ui = free_ports(3)
    url = f"spark://127.0.0.1:{port}"
    master = _daemon(
        folder / "master.log",
        "org.apache.spark.deploy.master.Master",
        *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(master_ui)),
    )
    worker = _daemon(
        folder / "worker.log",
        "org.apache.spark.deploy.worker.Worker",
        *("--cores", str(WORKER_CORES), "--memory", "3g", "--webui-port", str(worker_ui)),
        *("--work-dir", str(folder / "work"), url),
    )
    try:
        yield url
    finally:
        for process in (worker, master):
            process.terminate()
            process.wait(30)


def _until(condition: Callable[[], bool], timeout_s: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_executors_are_counted_killed_and_asked_for_again(master: str) -> None:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        seen = pool.submit(_scenario, master).result(timeout=600)
    ids = seen["ids"]
    # The worker's cores, one executor each, once they have registered, in order.
    assert seen["registered"] and len(ids) == WORKER_CORES, ids
    assert ids == sorted(ids, key=lambda i: (len(i), i))
    assert seen["killed"] and seen["after_kill"], seen
    assert seen["still_down"] == ids[:-1], "a killed executor came back without being asked"
    assert seen["requested"] and seen["back_up"], seen
    assert set(seen["final"]) - set(ids), "the new executor has a new id"
    # Work runs on what is there.
    assert seen["sum"] == sum(range(1000))
