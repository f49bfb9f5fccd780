"""The only reader of the stack's Pulumi config.

Each `rtap:<section>` is an object. The values Pulumi hands the program go through the
one loader of stack settings (core/stack_config.py): merged over Pulumi.yaml's defaults
key by key and validated into frozen settings; then the rules across sections that a
deployment must meet run (infra/rules.py). Any problem raises ConfigError, naming the
key, before the program declares a single resource.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from core.settings import NAMESPACE, SettingsError, section_keys
from core.stack_config import validated
from infra.rules import rule_violations
from infra.settings import StackSettings

PROJECT_DIR = Path(__file__).resolve().parents[1]


class ConfigError(pulumi.RunError):
    """Stack config that must be fixed before anything is deployed; names each key."""


def load_settings(config: pulumi.Config | None = None) -> StackSettings:
    config = config or pulumi.Config(NAMESPACE)
    _reject_unknown_keys()
    values: dict[str, Any] = {}
    for key in section_keys(StackSettings):
        value = _read(config, key)
        if value is not None:
            values[key] = value
    stack = pulumi.get_stack()
    try:
        settings = validated(
            StackSettings, values, PROJECT_DIR, lambda _: f"in the stack config of {stack}"
        )
    except SettingsError as exc:
        raise ConfigError("invalid stack config:\n  " + "\n  ".join(exc.problems)) from None
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
    # Only the model's sections are read, so a misspelt one would otherwise be ignored and
    # its defaults deployed.
    prefix = f"{NAMESPACE}:"
    known = set(section_keys(StackSettings))
    # The language host hands config over either way, depending on the CLI version.
    present = {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.config.get_config_env()}
    for full_key in sorted(present):
        if full_key.startswith(prefix):
            key = full_key.removeprefix(prefix)
            if key not in known:
                raise ConfigError(
                    f"{full_key}: not a setting rtap knows (sections: {', '.join(sorted(known))})"
                )
