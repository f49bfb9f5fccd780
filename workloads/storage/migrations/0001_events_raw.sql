-- Raw events, one row per accepted event.
-- $event_columns expands to the columns of workloads.events.AnalyticsEvent, so the model
-- stays the only place the fields are spelled out. Later field changes get their own
-- migration (ALTER TABLE ... ADD COLUMN), and the runner checks the table against the model.
--
-- Retention (TTL) is set by the runner from the stack settings, not here.
--
-- ReplacingMergeTree keyed by the event: the second line of defence behind insert
-- deduplication (docs/exactly-once.md). The sort key serves the API's queries: a type
-- over a time range, then a user within it; bloom filters help lookups by user/session.
CREATE TABLE IF NOT EXISTS $database.events_raw
(
    $event_columns,
    kafka_partition UInt16 CODEC(ZSTD(1)),
    kafka_offset UInt64 CODEC(Delta, ZSTD(1)),
    ingested_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(event_time)
ORDER BY (event_type, toStartOfHour(event_time), user_id, event_id)
SETTINGS non_replicated_deduplication_window = $dedup_window_blocks;
