"""The one loader of a stack's settings.

A stack's values live in `stacks/Pulumi.<stack>.yaml` under `config:` as `rtap:<section>`
objects. Pulumi.yaml declares every section once, with its default (a whole object); a
stack writes only the keys it changes, and they are merged over the default key by key
(Pulumi itself would replace the whole object). The values reach the loader in one of two
ways, and take the same path from there:

- the CLI reads the stack file (`load_stack`), and environment variables override
  single keys: `RTAP_<SECTION>__<KEY>`, e.g. `RTAP_KAFKA__PARTITIONS=8` or
  `RTAP_PRODUCER__RATE_PER_SECOND=20000` (values are YAML scalars);
- `pulumi up` hands the program its config, and infra/config.py passes the values in
  (`validated`).

Any bad value fails here, before anything starts or is declared, with a line that names
the key and where the value came from.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from core.settings import NAMESPACE, SettingsError, describe_errors, invalid, section_keys

M = TypeVar("M", bound=BaseModel)
PROJECT_FILE = "Pulumi.yaml"
_ENV_OVERRIDE = re.compile(r"^RTAP_([A-Z0-9]+(?:_[A-Z0-9]+)*)__([A-Z0-9_]+)$")
Where = Callable[[str], str]


def find_project_dir() -> Path:
    """The rtap checkout: $RTAP_PROJECT_DIR, else the nearest Pulumi.yaml above the cwd."""
    explicit = os.environ.get("RTAP_PROJECT_DIR")
    if explicit:
        return Path(explicit).resolve()
    for candidate in [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]]:
        if (candidate / PROJECT_FILE).is_file() and (candidate / "stacks").is_dir():
            return candidate
    raise SettingsError(
        "cannot find the rtap project (a folder with Pulumi.yaml and stacks/): "
        "run rtap from the checkout or set RTAP_PROJECT_DIR"
    )


def stack_file(stack: str, project_dir: Path) -> Path:
    return project_dir / "stacks" / f"Pulumi.{stack}.yaml"


@cache
def project_defaults(project_file: Path) -> dict[str, Any]:
    """`<section>` → default, from the config schema in Pulumi.yaml (empty without one)."""
    if not project_file.is_file():
        return {}
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


def validated(model: type[M], values: Mapping[str, Any], project_dir: Path, where: Where) -> M:
    """`values` (`<section>` → the stack's value) over Pulumi.yaml's defaults, validated.

    Sections neither the stack nor Pulumi.yaml sets are left to the model's own defaults.
    Raises SettingsError with one line per problem; `where` says where a dotted key's
    value came from.
    """
    defaults = project_defaults(project_dir / PROJECT_FILE)
    merged = {key: merge(defaults.get(key), value) for key, value in values.items()}
    for key in section_keys(model):
        if key not in merged and defaults.get(key) is not None:
            merged[key] = defaults[key]
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise invalid("invalid stack settings", describe_errors(exc, where)) from None


def load_stack(
    model: type[M],
    stack: str = "local",
    project_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> M:
    """A stack's settings from its file, with environment overrides (the CLI's way)."""
    project_dir = project_dir or find_project_dir()
    path = stack_file(stack, project_dir)
    if not path.is_file():
        raise SettingsError(f"no stack file {path}: is '{stack}' a stack name?")
    values = _stack_values(path)
    in_file = copy.deepcopy(values)
    environ = os.environ if environ is None else environ
    overridden = _apply_env_overrides(values, environ, section_keys(model))

    def where(dotted: str) -> str:
        return _source(dotted, in_file, overridden, path)

    return validated(model, values, project_dir, where)


def _source(
    dotted: str, in_file: Mapping[str, Any], overridden: Mapping[str, str], path: Path
) -> str:
    """Where the value at `dotted` (`section.key…`, or a section, or "" for the whole
    stack) came from: an environment variable, the stack file, or a default."""
    exact = overridden.get(".".join(dotted.split(".")[:2]))
    if exact:
        return f"set by environment variable {exact}"
    # A rule across keys (a section's or the stack's) may come from any key under it.
    within = sorted(v for k, v in overridden.items() if not dotted or k.startswith(f"{dotted}."))
    if within:
        return f"in {path} with environment variable {', '.join(within)}"
    node: Any = in_file
    for part in dotted.split(".") if dotted else []:
        if not isinstance(node, Mapping) or part not in node:
            return (
                f"from its default in {PROJECT_FILE} or the settings (the stack file leaves it out)"
            )
        node = node[part]
    return f"in {path}"


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
        if namespace == NAMESPACE:
            values[section] = value
    return values


def _apply_env_overrides(
    values: dict[str, Any], environ: Mapping[str, str], sections: list[str]
) -> dict[str, str]:
    """Merge RTAP_<SECTION>__<KEY> variables; returns {dotted key: variable name}."""
    overridden: dict[str, str] = {}
    for variable, raw in environ.items():
        match = _ENV_OVERRIDE.match(variable)
        if not match:
            continue
        section, key = to_camel(match[1].lower()), to_camel(match[2].lower())
        if section not in sections:
            raise SettingsError(f"{variable}: there is no settings section rtap:{section}")
        target = values.setdefault(section, {})
        if not isinstance(target, dict):
            raise SettingsError(f"{variable}: rtap:{section} is not a mapping")
        target[key] = yaml.safe_load(raw) if raw.strip() else raw
        overridden[f"{section}.{key}"] = variable
    return overridden
