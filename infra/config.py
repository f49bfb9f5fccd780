"""The only reader of the stack's Pulumi config.

Each `rtap:<section>` is an object. Pulumi.yaml declares every section with its default;
a stack writes only the keys it changes, and this module merges them over the defaults
key by key (Pulumi would replace the whole object). The result is validated into frozen
settings, then the cross-section rules run. Any problem raises ConfigError, naming the
key, before the program declares a single resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import ValidationError

from infra.rules import rule_violations
from infra.settings import DeploymentSettings
from rtap.settings import NAMESPACE, describe_errors

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"


class ConfigError(pulumi.RunError):
    """Stack config that must be fixed before anything is deployed; names each key."""


@cache
def project_defaults(project_file: Path = PROJECT_FILE) -> dict[str, Any]:
    """`rtap:<section>` → default, from the config schema in Pulumi.yaml."""
    declared = (yaml.safe_load(project_file.read_text()) or {}).get("config", {})
    prefix = f"{NAMESPACE}:"
    return {
        key.removeprefix(prefix): spec.get("default")
        for key, spec in declared.items()
        if key.startswith(prefix) and isinstance(spec, dict)
    }


def merge(default: Any, override: Any) -> Any:
    """`override` over `default`, key by key for mappings; anything else replaces."""
    if isinstance(default, Mapping) and isinstance(override, Mapping):
        merged = dict(default)
        for key, value in override.items():
            merged[key] = merge(default.get(key), value)
        return merged
    return default if override is None else override


def load_settings(config: pulumi.Config | None = None) -> DeploymentSettings:
    config = config or pulumi.Config(NAMESPACE)
    defaults = project_defaults()
    values: dict[str, Any] = {}
    for name, field in DeploymentSettings.model_fields.items():
        key = field.alias or name
        stack_value = _read(config, key)
        value = merge(defaults.get(key), stack_value)
        if value is not None:
            values[key] = value
    _reject_unknown_keys()
    try:
        settings = DeploymentSettings.model_validate(values)
    except ValidationError as exc:
        lines = describe_errors(exc, lambda _: f"in the stack config of {pulumi.get_stack()}")
        raise ConfigError("invalid stack config:\n  " + "\n  ".join(lines)) from None
    violations = rule_violations(settings)
    if violations:
        raise ConfigError("invalid stack config:\n  " + "\n  ".join(violations))
    return settings


def _read(config: pulumi.Config, key: str) -> Any:
    raw = config.get(key)
    if raw is None:
        return None
    try:
        return config.get_object(key)
    except pulumi.ConfigTypeError:
        return raw


def _reject_unknown_keys() -> None:
    # A misspelt section would otherwise be ignored and its defaults deployed.
    prefix = f"{NAMESPACE}:"
    known = {field.alias or name for name, field in DeploymentSettings.model_fields.items()}
    # The language host hands config over either way, depending on the CLI version.
    present = {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.config.get_config_env()}
    for full_key in sorted(present):
        if full_key.startswith(prefix):
            key = full_key.removeprefix(prefix)
            if key not in known:
                raise ConfigError(
                    f"{full_key}: not a setting rtap knows (sections: {', '.join(sorted(known))})"
                )
