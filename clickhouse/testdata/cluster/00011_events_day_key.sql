-- events sorted by the day first: ORDER BY (toDate(event_time), visitor_id,
-- message_id), so that the parts a running pipeline writes (this hour's
-- events) overlap only today's range of the merged parts, and FINAL merges
-- today with them instead of the whole month.
--
-- Why: FINAL must merge every freshly written part with each range of the
-- other parts that its sorting-key range overlaps. Sorted by (visitor_id,
-- message_id), one batch of random visitors overlaps the whole table, so a
-- single fresh 10,000-event part made the 4-step funnel over 10 M merged
-- events 2.1-2.5x the baseline GROUP BY (1.5x without it). Sorted by day,
-- the same state costs what the merged table does (BENCHMARKS.md, "The live
-- state and the sorting key").
--
-- What it changes: the deduplication key becomes (toDate(event_time),
-- visitor_id, message_id). Copies of an event still collapse under FINAL
-- whenever their event_time falls on the same UTC day, which is always the
-- case for a processor's replay (the same row) and for a client retry that
-- sends its own `timestamp`. Only copies the collector timed differently
-- (no `timestamp`: the `sentAt` clock-skew correction, or `received_at`)
-- and whose times straddle midnight UTC both count, once on each day:
-- what the rollup traffic_daily, grouped by day, already did. PostHog keys
-- its events by day the same way; Segment deduplicates within a window.
--
-- How: the rows are copied into a new table with the new key, which then
-- takes the place of events (EXCHANGE TABLES: atomic; the materialized
-- view traffic_daily_mv and the views read events by name and follow it).
-- Events written by a processor while the copy ran are copied again after
-- the exchange (rows inserted in the last day: the copies collapse under
-- FINAL, and the rollup's states absorb them), so a running pipeline loses
-- nothing; stopping the processors first is still the quicker way. The
-- copy reads and writes the whole table once: about 30 s per 10 M events
-- on 2 cores, plus the last day's rows (migrate waits for it:
-- migrateReadTimeout). The events TTL
-- (touchstream migrate --events-ttl) is not part of CREATE TABLE ... AS:
-- MigrateWith sets it again afterwards. A run interrupted before the
-- exchange starts over cleanly (the first statement drops the half-made
-- copy); one interrupted between the exchange and the second copy loses,
-- when run again, the rows processors wrote during the first copy (none if
-- they were stopped). Documented in sql/README.md, "Table events".

-- +goose Up
DROP TABLE IF EXISTS touchstream.events_v11 ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.events_v11_local ON CLUSTER touchstream_cluster SYNC;
CREATE TABLE IF NOT EXISTS touchstream.events_v11_local ON CLUSTER touchstream_cluster
AS touchstream.events_local
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), visitor_id, message_id)
SETTINGS replicated_deduplication_window = 1000, min_bytes_for_wide_part = 67108864;
CREATE TABLE IF NOT EXISTS touchstream.events_v11 ON CLUSTER touchstream_cluster
AS touchstream.events_v11_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'events_v11_local', cityHash64(visitor_id));
INSERT INTO touchstream.events_v11
SETTINGS parallel_distributed_insert_select = 2
SELECT * FROM touchstream.events;
EXCHANGE TABLES touchstream.events_local AND touchstream.events_v11_local ON CLUSTER touchstream_cluster;
INSERT INTO touchstream.events
SETTINGS parallel_distributed_insert_select = 2
SELECT * FROM touchstream.events_v11 WHERE inserted_at >= now64(3) - INTERVAL 1 DAY;
DROP TABLE touchstream.events_v11 ON CLUSTER touchstream_cluster SYNC;
DROP TABLE touchstream.events_v11_local ON CLUSTER touchstream_cluster SYNC;

-- +goose Down
DROP TABLE IF EXISTS touchstream.events_v10 ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.events_v10_local ON CLUSTER touchstream_cluster SYNC;
CREATE TABLE IF NOT EXISTS touchstream.events_v10_local ON CLUSTER touchstream_cluster
AS touchstream.events_local
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (visitor_id, message_id)
SETTINGS replicated_deduplication_window = 1000, min_bytes_for_wide_part = 67108864;
CREATE TABLE IF NOT EXISTS touchstream.events_v10 ON CLUSTER touchstream_cluster
AS touchstream.events_v10_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'events_v10_local', cityHash64(visitor_id));
INSERT INTO touchstream.events_v10
SETTINGS parallel_distributed_insert_select = 2
SELECT * FROM touchstream.events;
EXCHANGE TABLES touchstream.events_local AND touchstream.events_v10_local ON CLUSTER touchstream_cluster;
INSERT INTO touchstream.events
SETTINGS parallel_distributed_insert_select = 2
SELECT * FROM touchstream.events_v10 WHERE inserted_at >= now64(3) - INTERVAL 1 DAY;
DROP TABLE touchstream.events_v10 ON CLUSTER touchstream_cluster SYNC;
DROP TABLE touchstream.events_v10_local ON CLUSTER touchstream_cluster SYNC;
