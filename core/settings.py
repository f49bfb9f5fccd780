"""The typed settings contract: how every settings section is modelled and how a bad
value is reported."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

# Pulumi's config namespace of the project: a stack file's keys are `rtap:<section>`.
NAMESPACE = "rtap"


class SettingsModel(BaseModel):
    """Base of every settings section.

    Stack files use camelCase keys (Pulumi's convention); Python uses snake_case.
    Unknown keys are errors, so a typo in a stack file fails loudly instead of being
    ignored, and settings are frozen once loaded.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class SettingsError(ValueError):
    """A stack setting is missing, unknown or invalid; the message names the key.

    `problems` holds one line per invalid value when there are several to report.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def invalid(header: str, problems: Sequence[str]) -> SettingsError:
    """The error for `problems`, listed under `header`, one per line."""
    return SettingsError(f"{header}:\n  " + "\n  ".join(problems), problems)


def section_keys(model: type[BaseModel]) -> list[str]:
    """The `rtap:<section>` names of a model's fields, as a stack file spells them."""
    return [field.alias or name for name, field in model.model_fields.items()]


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
