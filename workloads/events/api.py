"""The event as the serving API returns it, derived from `AnalyticsEvent`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, create_model

from workloads.events.model import EVENT_FIELDS, EventType, FieldKind

_API_TYPES: dict[FieldKind, Any] = {
    FieldKind.UUID: uuid.UUID,
    FieldKind.TIMESTAMP: datetime,
    FieldKind.IDENTIFIER: str,
    FieldKind.EVENT_TYPE: EventType,
    FieldKind.PROPERTIES: dict[str, str],
    FieldKind.NUMBER: float,
}


def _event_model() -> type[BaseModel]:
    fields: dict[str, Any] = {spec.name: (_API_TYPES[spec.kind], ...) for spec in EVENT_FIELDS}
    return create_model("Event", __doc__="One stored analytics event.", **fields)


Event: type[BaseModel] = _event_model()
