"""How big a container is: the requests and limits every container rtap declares has."""

from __future__ import annotations

from pydantic import Field

from core.settings import SettingsModel

QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$"


class Quantities(SettingsModel):
    cpu: str = Field(pattern=QUANTITY)
    memory: str = Field(pattern=QUANTITY)


class Resources(SettingsModel):
    """Requests and limits of one container; every container rtap declares has both."""

    requests: Quantities
    limits: Quantities
