"""Handing validated settings to another process: a JSON file named by an environment
variable, so that a child process or a container runs with exactly the settings that
were checked (overrides included) and never parses the stack file itself."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from core.settings import SettingsError, describe_errors, invalid

# Set for every process rtap starts and every workload container: the settings file.
SETTINGS_FILE_VARIABLE = "RTAP_SETTINGS_FILE"
M = TypeVar("M", bound=BaseModel)


def write_settings_file(settings: BaseModel, path: Path) -> Path:
    """Write `settings` as camelCase JSON to `path`, whole, then renamed into place: a
    reader (or two restarts at once) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}-{threading.get_native_id()}{path.suffix}")
    temporary.write_text(settings.model_dump_json(by_alias=True))
    os.replace(temporary, path)
    return path


def handed_over(model: type[M], environ: Mapping[str, str] = os.environ) -> M:
    """The settings this process was started with, from the file $RTAP_SETTINGS_FILE names."""
    path = environ.get(SETTINGS_FILE_VARIABLE)
    if not path:
        raise SettingsError(
            f"{SETTINGS_FILE_VARIABLE} is not set: it names the settings file this process "
            "runs with (rtap sets it for the processes it starts, the Pulumi program for "
            "containers)"
        )
    return read_settings_file(model, Path(path))


def read_settings_file(model: type[M], path: Path) -> M:
    """The settings in `path`; a bad file raises SettingsError naming each key."""
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc.strerror}") from None
    except ValidationError as exc:
        problems = describe_errors(exc, lambda _: f"in {path}")
        raise invalid("invalid stack settings", problems) from None
