"""Settings of the synthetic event producer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from core.settings import SettingsModel
from workloads.events.model import EventType

_DEFAULT_MIX = {
    EventType.PAGE_VIEW: 0.55,
    EventType.CLICK: 0.25,
    EventType.SEARCH: 0.10,
    EventType.ADD_TO_CART: 0.06,
    EventType.PURCHASE: 0.03,
    EventType.SIGNUP: 0.01,
}


class ProducerSettings(SettingsModel):
    """Rate, mix and error injection of synthetic traffic.

    Everything but timestamps is a function of `seed`: the same seed gives the same
    users, sessions, ids, types, values and malformed records, in the same order. With
    no seed each run draws one (and reports it): event ids are the exactly-once key, so
    two runs with one seed send the same ids and the second run's events are duplicates.
    """

    rate_per_second: int = Field(5_000, ge=1, le=2_000_000)
    seed: int | None = Field(None, ge=0)
    users: int = Field(50_000, ge=1, le=10_000_000)
    event_mix: dict[EventType, float] = Field(default_factory=lambda: dict(_DEFAULT_MIX))
    # Share of records deliberately broken in one of the ways the validator must catch.
    malformed_share: float = Field(0.0, ge=0.0, le=1.0)
    # Share of valid events whose event time lies up to max_lateness_seconds in the past.
    late_share: float = Field(0.0, ge=0.0, le=1.0)
    max_lateness_seconds: int = Field(600, ge=1)
    # Chance that an event starts a new session for its user.
    new_session_share: float = Field(0.02, ge=0.0, le=1.0)
    # Batching on the producer side: with idempotence and acks=all every request costs the
    # broker real work; measured on 2 cores, 5 ms cost the broker 0.3-0.6 cores at 5-20k
    # events/s and 50 ms cost 0.05 cores, for at most 50 ms of extra latency.
    linger_ms: int = Field(50, ge=0, le=1_000)
    compression: Literal["none", "lz4", "zstd", "snappy", "gzip"] = "lz4"
    queue_max_messages: int = Field(500_000, ge=1_000)

    @field_validator("event_mix")
    @classmethod
    def _weights_positive(cls, mix: dict[EventType, float]) -> dict[EventType, float]:
        if not mix:
            raise ValueError("needs at least one event type")
        negative = [str(t) for t, w in mix.items() if w < 0]
        if negative:
            raise ValueError(f"weights must be >= 0, got a negative weight for {negative[0]}")
        if sum(mix.values()) <= 0:
            raise ValueError("weights must not all be zero")
        return mix
