"""Schema checks of rendered objects: built-in kinds against the Kubernetes schemas
(kubernetes-validate, strict: a misspelt field fails), custom resources against the
operators' CRD schemas. A kind found in neither is an error, never a skip."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from infra.policies import describe

# A copy of ../shared/crd-schemas (see its README for the source commit), so a clone
# validates offline on its own; $RTAP_CRD_SCHEMAS points elsewhere.
VENDORED_SCHEMAS = Path(__file__).resolve().parents[2] / "infra" / "crd-schemas"


def schema_dir() -> Path:
    return Path(os.environ.get("RTAP_CRD_SCHEMAS") or VENDORED_SCHEMAS)


def dotted(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(object)"


@cache
def _crd_validator(group: str, kind: str, version: str, root: Path) -> Any | None:
    path = root / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    return validator_class(schema)


@cache
def is_builtin(api_version: str, kind: str, kubernetes_version: str) -> bool:
    """Whether Kubernetes itself defines the kind (else a CRD must)."""
    probe = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "probe"}}
    try:
        kubernetes_validate.validate(probe, kubernetes_version, strict=False)
    except kubernetes_validate.SchemaNotFoundError:
        return False
    except kubernetes_validate.ValidationError:
        return True  # a schema exists; the empty probe just does not meet it
    return True


def validate(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Errors of one object, each naming the object and the field."""
    name = describe(obj)
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    if not api_version or not kind:
        return [f"{name}: apiVersion and kind are required"]
    errors = _metadata_errors(obj, name)
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        return errors
    except kubernetes_validate.ValidationError as exc:
        return [*errors, f"{name}: {dotted(exc.path)}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        pass
    group, _, version = api_version.rpartition("/")
    validator = _crd_validator(group, kind, version, schema_dir()) if group else None
    if validator is None:
        return [
            *errors,
            f"{name}: unknown kind {kind} in {api_version}: not a Kubernetes "
            f"{kubernetes_version} kind and no CRD schema at "
            f"{schema_dir()}/{group or 'core'}/{kind.lower()}_{version}.json",
        ]
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        errors.append(f"{name}: {dotted(error.absolute_path)}: {error.message}")
    return errors


def _metadata_errors(obj: dict[str, Any], name: str) -> list[str]:
    meta = obj.get("metadata") or {}
    if not meta.get("name"):
        return [f"{name}: metadata.name: required (rtap names every object itself)"]
    return []


def validate_all(objects: Sequence[dict[str, Any]], kubernetes_version: str) -> list[str]:
    return [error for obj in objects for error in validate(obj, kubernetes_version)]
