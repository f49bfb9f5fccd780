"""What one load-test run is told: Locust's command line (the `--rtap-*` options, or
their LOCUST_RTAP_* environment variables in a cluster) and the stack's settings from
the settings file (core/handoff.py), read once per Locust process."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.handoff import handed_over
from workloads.cluster_env import kafka_security
from workloads.settings import WorkloadSettings

# The shapes a run can take (loadtests/suites/shapes.py); `open` is the open model.
SHAPES = ("open", "ramp", "spike", "soak")


def add_arguments(parser: Any) -> None:
    """The suite's own options, added to Locust's parser. Every one can also be set as
    an environment variable, which is how the Pulumi program configures its pods."""
    group = parser.add_argument_group("rtap")
    option = group.add_argument
    option(
        "--rtap-shape",
        choices=SHAPES,
        default="open",
        env_var="LOCUST_RTAP_SHAPE",
        help="ramp, spike, soak (closed: --users viewers) or open (--rtap-rate req/s)",
    )
    option(
        "--rtap-duration",
        type=float,
        default=60.0,
        env_var="LOCUST_RTAP_DURATION",
        help="Seconds the shape runs for.",
    )
    option(
        "--rtap-warmup",
        type=float,
        default=10.0,
        env_var="LOCUST_RTAP_WARMUP",
        help="Seconds of load before the measured duration; its statistics are reset.",
    )
    option(
        "--rtap-viewers",
        type=int,
        default=20,
        env_var="LOCUST_RTAP_VIEWERS",
        help="Closed-model viewers at the shape's peak.",
    )
    option(
        "--rtap-arrival-users",
        type=int,
        default=1,
        env_var="LOCUST_RTAP_ARRIVAL_USERS",
        help="Open-model schedulers, each offering an equal share of the rate (one per "
        "worker in a distributed run).",
    )
    option(
        "--rtap-rate",
        type=float,
        default=100.0,
        env_var="LOCUST_RTAP_RATE",
        help="API requests per second the open model offers.",
    )
    option(
        "--rtap-ingest-rate",
        type=float,
        default=500.0,
        env_var="LOCUST_RTAP_INGEST_RATE",
        help="Events per second the ingest user produces (0: no ingest users).",
    )
    option(
        "--rtap-canary-interval",
        type=float,
        default=1.0,
        env_var="LOCUST_RTAP_CANARY_INTERVAL",
        help="Seconds between canary events.",
    )
    option(
        "--rtap-think-time",
        type=float,
        default=2.0,
        env_var="LOCUST_RTAP_THINK_TIME",
        help="Mean seconds a closed-model viewer waits between dashboard actions.",
    )
    option(
        "--rtap-keys-file",
        default="",
        env_var="LOCUST_RTAP_KEYS_FILE",
        help="A JSON list of API keys; requests spread over them.",
    )
    option(
        "--rtap-kafka-config",
        default="",
        env_var="LOCUST_RTAP_KAFKA_CONFIG",
        help="A JSON object of librdkafka settings (bootstrap.servers, security).",
    )
    option(
        "--rtap-verdict",
        default="",
        env_var="LOCUST_RTAP_VERDICT",
        help="Where to write the SLA verdict (JSON); it is always logged.",
    )


@dataclass(frozen=True)
class SuiteOptions:
    shape: str
    duration_s: float
    # Load before the measured part (connections, caches, the JIT); not judged.
    warmup_s: float
    viewers: int
    arrival_users: int
    # The open model's rate, all arrival users together.
    rate: float
    ingest_rate: float
    canary_interval_s: float
    think_time_s: float
    keys: tuple[str, ...]
    kafka_config: dict[str, Any]
    verdict_path: Path | None
    settings: WorkloadSettings

    @property
    def ingest(self) -> bool:
        return self.ingest_rate > 0

    def key(self, rng: random.Random) -> str:
        return rng.choice(self.keys)


_loaded: dict[int, SuiteOptions] = {}


def kafka_config(path: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """librdkafka settings: those of the file `--rtap-kafka-config` names, or in a pod of
    rtap:loadtest the cluster's TLS listener and SCRAM login (workloads/cluster_env.py);
    empty when there are neither."""
    if path:
        return dict(orjson.loads(Path(path).read_bytes()))
    bootstrap = environ.get("KAFKA_BOOTSTRAP")
    if not bootstrap:
        return {}
    return {"bootstrap.servers": bootstrap, **kafka_security(environ)}


def suite_options(parsed: Any) -> SuiteOptions:
    """The run's options from Locust's parsed command line (cached per process)."""
    cached = _loaded.get(id(parsed))
    if cached is not None:
        return cached
    keys = tuple(orjson.loads(Path(parsed.rtap_keys_file).read_bytes()))
    if not keys:
        raise ValueError(f"{parsed.rtap_keys_file} lists no API keys")
    kafka = kafka_config(parsed.rtap_kafka_config, os.environ)
    if parsed.rtap_ingest_rate > 0 and not kafka:
        raise ValueError(
            "--rtap-ingest-rate needs --rtap-kafka-config or KAFKA_BOOTSTRAP (or a rate of 0)"
        )
    options = SuiteOptions(
        shape=parsed.rtap_shape,
        duration_s=parsed.rtap_duration,
        warmup_s=parsed.rtap_warmup,
        viewers=parsed.rtap_viewers,
        arrival_users=parsed.rtap_arrival_users,
        rate=parsed.rtap_rate,
        ingest_rate=parsed.rtap_ingest_rate,
        canary_interval_s=parsed.rtap_canary_interval,
        think_time_s=parsed.rtap_think_time,
        keys=keys,
        kafka_config=kafka,
        verdict_path=Path(parsed.rtap_verdict) if parsed.rtap_verdict else None,
        settings=handed_over(WorkloadSettings),
    )
    _loaded[id(parsed)] = options
    return options
