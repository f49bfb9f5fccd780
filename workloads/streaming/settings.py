"""Settings of the streaming job."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.settings import SettingsModel


class StreamingSettings(SettingsModel):
    """Triggers, state and sizing of the two streaming queries (ingest and sessions)."""

    trigger_interval_ms: int = Field(1_000, ge=50, le=600_000)
    # Sessions close only when the watermark passes them, so a slow trigger costs them no
    # freshness; measured at 20k events/s, 15 s instead of 5 s cut the sessions query's
    # time by 40%, time the ingest query gets instead.
    session_trigger_interval_ms: int = Field(15_000, ge=100, le=600_000)
    # 0 sizes shuffles to the machine: one partition per core.
    shuffle_partitions: int = Field(0, ge=0, le=10_000)
    watermark_delay_seconds: int = Field(120, ge=0)
    session_gap_seconds: int = Field(1_800, ge=1)
    # Bounds a micro-batch after a backlog (restart, catch-up) so latency stays bounded.
    max_offsets_per_trigger: int = Field(500_000, ge=1_000)
    starting_offsets: Literal["earliest", "latest"] = "earliest"
    # How long the broker may hold a fetch that is waiting for data. A task reading up to
    # the end of the log otherwise waited the Kafka default (500 ms) on every batch:
    # measured, tasks ran 500 ms for 10 ms of CPU.
    fetch_max_wait_ms: int = Field(20, ge=1, le=500)
    state_store: Literal["rocksdb", "hdfs"] = "rocksdb"
    driver_memory: str = Field("2g", pattern=r"^\d+[mg]$")
