"""Pieces every workload's settings share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


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
