-- Per-user sessions from the streaming job (session_window, append mode): each session
-- arrives once, after the watermark has passed its end. ReplacingMergeTree on the
-- session key is the second line of defence behind insert deduplication.
CREATE TABLE IF NOT EXISTS $database.user_sessions
(
    user_id String CODEC(ZSTD(1)),
    session_start DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    session_end DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    last_event_time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    events UInt32,
    value_sum Float64,
    event_types Array(LowCardinality(String)),
    ingested_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(session_start)
ORDER BY (user_id, session_start)
SETTINGS non_replicated_deduplication_window = $dedup_window_blocks;
