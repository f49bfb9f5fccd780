"""Fixtures shared by unit tests: one Spark session, one embedded ClickHouse engine, and
the Pulumi program rendered once per stack.

Both are real engines run in-process (chDB) or as a child JVM (Spark local mode); chDB
allows one engine per process, so every test shares one data directory and isolates
itself with its own database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from rtap.render.program import Rendered
from tests.unit.infra.conftest import render_once
from workloads.storage.client import connect
from workloads.storage.settings import ClickHouseSettings

PROJECT = Path(__file__).resolve().parents[2]
# The event validator (a Java UDF) that `make setup` compiles; parse_events needs it.
VALIDATOR_JAR = PROJECT / ".rtap" / "jars" / "validator" / "rtap-validator.jar"


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    if not VALIDATOR_JAR.exists():
        pytest.fail(f"{VALIDATOR_JAR} is missing: run `make setup` (or `make unit`)")
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.jars", str(VALIDATOR_JAR))
        .appName("rtap-unit-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-Xss8m")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory: Path = tmp_path_factory.mktemp("chdb")
    return connect(ClickHouseSettings(), directory)


@pytest.fixture
def database(clickhouse: Any) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    clickhouse.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture(scope="session")
def rendered() -> Callable[[str], Rendered]:
    """The program rendered for a stack under Pulumi's mocks, once per stack per session."""
    return render_once
