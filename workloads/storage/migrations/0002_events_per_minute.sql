-- Per-minute rollups by event type, maintained by a materialized view over events_raw.
-- The view runs inside each insert into events_raw, so when the last raw batch is
-- committed the rollups are final too: no window waits for a watermark to close.
-- Deduplicated raw inserts are deduplicated here as well (the insert's token is passed
-- down with deduplicate_blocks_in_dependent_materialized_views=1), hence the window.
CREATE TABLE IF NOT EXISTS $database.events_per_minute
(
    minute DateTime('UTC') CODEC(Delta, ZSTD(1)),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    value_sum SimpleAggregateFunction(sum, Float64),
    users AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (event_type, minute)
SETTINGS non_replicated_deduplication_window = $dedup_window_blocks;

CREATE MATERIALIZED VIEW IF NOT EXISTS $database.events_per_minute_mv
TO $database.events_per_minute
AS SELECT
    toStartOfMinute(event_time) AS minute,
    event_type,
    count() AS events,
    sum(value) AS value_sum,
    uniqState(user_id) AS users
FROM $database.events_raw
GROUP BY minute, event_type;
