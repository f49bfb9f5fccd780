"""Settings of the ClickHouse storage layer."""

from __future__ import annotations

from pydantic import Field

from core.settings import SettingsModel


class ClickHouseSettings(SettingsModel):
    """Where and how events are stored.

    `dsn` empty means the embedded chDB engine in the platform's run directory; a
    `http(s)://user@host:port` DSN talks to ClickHouse servers with the same SQL.
    """

    dsn: str = ""
    database: str = Field("rtap", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    raw_retention_days: int = Field(30, ge=1, le=3650)
    rollup_retention_days: int = Field(400, ge=1, le=36500)
    # How many recent insert blocks a table remembers for deduplication. A crash replays
    # at most the last micro-batch (one block per partition per table), so 1000 is ample.
    dedup_window_blocks: int = Field(1000, ge=10, le=100_000)
    # events_raw's MergeTree `merge_selector_base` (ClickHouse's default is 5): a larger
    # base merges more parts at once, so each row is rewritten fewer times, for more
    # parts alive at a time. With micro-batch inserts twice a second, 20 halved the merge
    # CPU (measured in chDB: 14.2 against 6.6 CPU-s for 3M rows in 60 s; 14 active parts
    # against 7). Servers without the setting keep their default, with a warning.
    raw_merge_selector_base: float = Field(20.0, ge=2.0, le=1000.0)
    # Set on ClickHouse clusters: migrations then use Replicated engines and ON CLUSTER.
    cluster: str = Field("", pattern=r"^[A-Za-z0-9_]*$")
