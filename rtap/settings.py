"""The only loader of stack settings for rtap.

A stack's values live in `stacks/Pulumi.<stack>.yaml` under `config:` as `rtap:<section>`
objects, the same file `pulumi up` reads. Environment variables override single keys:
`RTAP_<SECTION>__<KEY>`, e.g. `RTAP_KAFKA__PARTITIONS=8` or
`RTAP_PRODUCER__RATE_PER_SECOND=20000` (values are YAML scalars). Any bad value fails
here, before anything starts, with an error that names the key and where it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from workloads.common import SettingsModel
from workloads.events.model import EventLimits
from workloads.kafka import KafkaSettings
from workloads.producer.settings import ProducerSettings
from workloads.serving.settings import ServingSettings
from workloads.storage.settings import ClickHouseSettings
from workloads.streaming.settings import StreamingSettings

NAMESPACE = "rtap"
# Set for processes rtap starts: the validated settings, as JSON, so a child process runs
# with exactly the settings its parent checked.
SETTINGS_FILE_VARIABLE = "RTAP_SETTINGS_FILE"
ENV_PREFIX = "RTAP_"
_ENV_OVERRIDE = re.compile(r"^RTAP_([A-Z0-9]+)__([A-Z0-9_]+)$")
# Sections only `pulumi up` reads (infra/settings.py DeploymentSettings); the local
# platform skips them when it loads a deployed stack's file (for load tests and drills).
DEPLOYMENT_ONLY_SECTIONS = frozenset(
    {
        "network",
        "cluster",
        "images",
        "kafkaCluster",
        "clickhouseCluster",
        "redis",
        "spark",
        "servingDeployment",
    }
)


class SettingsError(ValueError):
    """A stack setting is missing, unknown or invalid; the message names the key."""


class LocalSettings(SettingsModel):
    """The embedded platform on one machine: loopback ports and where state lives."""

    kafka_port: int = Field(19092, ge=1024, le=65535)
    kafka_controller_port: int = Field(19093, ge=1024, le=65535)
    redis_port: int = Field(16379, ge=1024, le=65535)
    platform_port: int = Field(18080, ge=1024, le=65535)
    run_dir: str = ".rtap/run"
    kafka_heap_mb: int = Field(1024, ge=256, le=65536)
    startup_timeout_seconds: int = Field(180, ge=10)
    # The sessions query's process runs at this nice value (0-19): its bursts of stateful
    # work then take only CPU that ingest leaves idle (docs/architecture.md).
    sessions_niceness: int = Field(19, ge=0, le=19)
    # The embedded ClickHouse's merge threads run at this nice value (0-19), so a merge
    # waits while ingest needs the CPU instead of delaying it.
    clickhouse_merge_niceness: int = Field(19, ge=0, le=19)
    # While `rtap up` or `rtap bench` runs, a component that dies is started again after a
    # doubling back-off; more failures than this within 10 minutes is a crash loop and it
    # stays down (0: never restart).
    max_restarts: int = Field(5, ge=0, le=100)


class SlaSettings(SettingsModel):
    """Targets the stack promises; benchmarks report against them, alerts derive from them."""

    freshness_p95_seconds: float = Field(2.0, gt=0)
    ingest_events_per_second: int = Field(50_000, gt=0)
    query_p99_ms: float = Field(25.0, gt=0)
    uncached_query_p95_ms: float = Field(100.0, gt=0)


class StackSettings(SettingsModel):
    environment: str = Field("local", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    streaming: StreamingSettings = StreamingSettings()
    producer: ProducerSettings = ProducerSettings()
    events: EventLimits = EventLimits()
    local: LocalSettings = LocalSettings()
    serving: ServingSettings = ServingSettings()
    sla: SlaSettings = SlaSettings()

    @model_validator(mode="after")
    def _valid_events_outlive_validation(self) -> StackSettings:
        # An event accepted as valid but older than the raw retention would be dropped by
        # the TTL as soon as it lands: silent loss. The bounds must nest.
        retention_s = self.clickhouse.raw_retention_days * 86_400
        if self.events.max_age_seconds >= retention_s:
            raise ValueError(
                f"events.maxAgeSeconds ({self.events.max_age_seconds}) must be below "
                f"clickhouse.rawRetentionDays ({self.clickhouse.raw_retention_days} days), or "
                "valid late events would expire on arrival"
            )
        if self.producer.max_lateness_seconds >= self.events.max_age_seconds:
            raise ValueError(
                f"producer.maxLatenessSeconds ({self.producer.max_lateness_seconds}) must be "
                f"below events.maxAgeSeconds ({self.events.max_age_seconds}), or late synthetic "
                "events would be dead-lettered as too old"
            )
        return self


def find_project_dir() -> Path:
    """The rtap checkout: $RTAP_PROJECT_DIR, else the nearest Pulumi.yaml above the cwd."""
    explicit = os.environ.get("RTAP_PROJECT_DIR")
    if explicit:
        return Path(explicit).resolve()
    for candidate in [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]]:
        if (candidate / "Pulumi.yaml").is_file() and (candidate / "stacks").is_dir():
            return candidate
    raise SettingsError(
        "cannot find the rtap project (a folder with Pulumi.yaml and stacks/): "
        "run rtap from the checkout or set RTAP_PROJECT_DIR"
    )


def stack_file(stack: str, project_dir: Path | None = None) -> Path:
    return (project_dir or find_project_dir()) / "stacks" / f"Pulumi.{stack}.yaml"


def load_settings(
    stack: str = "local",
    project_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> StackSettings:
    path = stack_file(stack, project_dir)
    if not path.is_file():
        raise SettingsError(f"no stack file {path}: is '{stack}' a stack name?")
    values = _stack_values(path)
    overridden = _apply_env_overrides(values, os.environ if environ is None else environ)
    try:
        return StackSettings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path, overridden)) from None


def load_settings_file(path: Path) -> StackSettings:
    try:
        return StackSettings.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path, {})) from None


@lru_cache(maxsize=8)
def get_settings(stack: str = "local") -> StackSettings:
    return load_settings(stack)


def _stack_values(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise SettingsError(f"{path}: 'config' must be a mapping of rtap:<section> keys")
    values: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, section = str(key).partition(":")
        if namespace == NAMESPACE and section not in DEPLOYMENT_ONLY_SECTIONS:
            values[section] = value
    return values


def _apply_env_overrides(values: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Merge RTAP_<SECTION>__<KEY> variables; returns {dotted key: variable name}."""
    overridden: dict[str, str] = {}
    for variable, raw in environ.items():
        match = _ENV_OVERRIDE.match(variable)
        if not match:
            continue
        section, key = match[1].lower(), to_camel(match[2].lower())
        if section not in StackSettings.model_fields:
            raise SettingsError(f"{variable}: there is no settings section rtap:{section}")
        target = values.setdefault(section, {})
        if not isinstance(target, dict):
            raise SettingsError(f"{variable}: rtap:{section} is not a mapping")
        target[key] = yaml.safe_load(raw) if raw.strip() else raw
        overridden[f"{section}.{key}"] = variable
    return overridden


def _describe(exc: ValidationError, path: Path, overridden: dict[str, str]) -> str:
    def where(dotted: str) -> str:
        source = overridden.get(".".join(dotted.split(".")[:2]))
        return f"set by environment variable {source}" if source else f"in {path}"

    return "invalid stack settings:\n  " + "\n  ".join(describe_errors(exc, where))


def describe_errors(exc: ValidationError, where: Callable[[str], str]) -> list[str]:
    """One line per error: the `rtap:<section>.<key>` it is about, what is wrong, and where
    the value came from (`where` gets the dotted key)."""
    lines = []
    for error in exc.errors():
        dotted = ".".join(str(part) for part in error["loc"])
        key = f"{NAMESPACE}:{dotted}" if dotted else NAMESPACE
        received = error.get("input")
        got = "" if isinstance(received, dict) else f" (got {received!r})"
        lines.append(f"{key}: {error['msg']}{got}, {where(dotted)}")
    return lines
