"""GraphQL types: strawberry types derived from the REST response models."""

from __future__ import annotations

import strawberry
from strawberry.experimental.pydantic import type as from_model
from strawberry.scalars import JSON

from workloads.events.api import Event
from workloads.events.model import EventType
from workloads.serving import models

strawberry.enum(EventType)
strawberry.enum(models.Granularity)


@from_model(model=models.CountPoint, all_fields=True)
class CountPoint:
    pass


@from_model(model=models.EventCounts, all_fields=True)
class EventCounts:
    pass


@from_model(model=models.TypeCount, all_fields=True)
class TypeCount:
    pass


@from_model(model=models.TopEventTypes, all_fields=True)
class TopEventTypes:
    pass


@from_model(model=models.DistinctUsers, all_fields=True)
class DistinctUsers:
    pass


@from_model(model=models.UserCount, all_fields=True)
class UserCount:
    pass


@from_model(model=models.TopUsers, all_fields=True)
class TopUsers:
    pass


@from_model(model=Event, all_fields=True)
class StoredEvent:
    properties: JSON


@from_model(model=models.UserEvents, all_fields=True)
class UserEvents:
    pass


@from_model(model=models.Session, all_fields=True)
class Session:
    pass


@from_model(model=models.UserSessions, all_fields=True)
class UserSessions:
    pass


@from_model(model=models.FunnelStep, all_fields=True)
class FunnelStep:
    pass


@from_model(model=models.Funnel, all_fields=True)
class Funnel:
    pass


@from_model(model=models.Freshness, all_fields=True)
class Freshness:
    pass
