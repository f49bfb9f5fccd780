"""The lag scaler's Spark calls on a real cluster manager: a Spark standalone master and
worker on loopback (pyspark's own distribution), with an application whose executors
SparkExecutors counts, kills and asks for again. Local mode has no executors to scale;
the Kubernetes backend answers the same SparkContext calls."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
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
        session = (
            SparkSession.builder.master(url)
            .appName("rtap-executor-scaling")
            .config("spark.executor.cores", "1")
            .config("spark.executor.memory", "512m")
            .config("spark.dynamicAllocation.enabled", "false")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        yield session
        session.stop()
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


def test_executors_are_counted_killed_and_asked_for_again(spark: SparkSession) -> None:
    executors = SparkExecutors(spark)
    # The worker's cores, one executor each, once they have registered.
    assert _until(lambda: len(executors.ids()) == WORKER_CORES), executors.ids()
    ids = executors.ids()
    assert ids == sorted(ids, key=lambda i: (len(i), i))
    # Down: the last one goes, and the target follows, so it is not replaced.
    assert executors.kill(ids[-1:])
    assert _until(lambda: executors.ids() == ids[:-1]), executors.ids()
    time.sleep(5)
    assert executors.ids() == ids[:-1], "a killed executor came back without being asked"
    # Up: a new total brings a new executor (a new id).
    assert executors.request_total(WORKER_CORES)
    assert _until(lambda: len(executors.ids()) == WORKER_CORES), executors.ids()
    assert set(executors.ids()) - set(ids), "the new executor has a new id"
    # Work runs on what is there.
    assert spark.sparkContext.parallelize(range(1000), 6).sum() == sum(range(1000))
