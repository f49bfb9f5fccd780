-- Two answers the per-minute rollup could not give cheaply (measured at 100M events a
-- day, `rtap bench query`, docs/benchmarks.md):
--   * distinct users: merging an hour of uniq() states took 300-450 ms, because at that
--     rate a minute's uniq state holds nearly every event's user (about 40 KB per row).
--     A uniqCombined(14) sketch is about 7 KB per row, merges in under 30 ms, and its
--     error is about 0.8% (uniq's is about 2%).
--   * freshness: the latest ingest time had to be read from the raw rows of the newest
--     hour (the sort key is by type first), 300+ ms; now each minute row carries it.
-- `users_sketch_complete` is 1 on rows the new view writes and 0 (the column default)
-- on rows written before: a rollup row merged from both reads 0, so the query layer
-- uses the sketch only for windows whose rows are all complete and falls back to the
-- uniq states otherwise. The view keeps writing `users` for that fallback.
-- Rows added between the ALTERs below get the defaults, which the fallback covers.
ALTER TABLE $database.events_per_minute
    ADD COLUMN IF NOT EXISTS users_sketch AggregateFunction(uniqCombined(14), String),
    ADD COLUMN IF NOT EXISTS users_sketch_complete SimpleAggregateFunction(min, UInt8),
    ADD COLUMN IF NOT EXISTS latest_event_time SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    ADD COLUMN IF NOT EXISTS latest_ingested_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'));

ALTER TABLE $database.events_per_minute_mv MODIFY QUERY
SELECT
    toStartOfMinute(event_time) AS minute,
    event_type,
    count() AS events,
    sum(value) AS value_sum,
    uniqState(user_id) AS users,
    uniqCombinedState(14)(user_id) AS users_sketch,
    toUInt8(1) AS users_sketch_complete,
    max(event_time) AS latest_event_time,
    max(ingested_at) AS latest_ingested_at
FROM $database.events_raw
GROUP BY minute, event_type;
