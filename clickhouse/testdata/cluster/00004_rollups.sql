-- Rollups: traffic_daily, the daily traffic of events per site, channel,
-- touchpoint and campaign, kept up to date by the materialized view
-- traffic_daily_mv on every insert into events. Documented in sql/README.md,
-- "Rollups".
--
-- Exact under redelivery: events is a ReplacingMergeTree and the same event
-- can be inserted twice (in two blocks, under two deduplication tokens).
-- FINAL collapses the copies, but the materialized view sees both inserts.
-- So no column here is a count or a sum: each one is the state of a
-- distinct count (uniqExact) or a set (groupUniqArray), and a second copy
-- of an event adds nothing to a state that already holds it.

-- +goose Up
CREATE TABLE IF NOT EXISTS touchstream.traffic_daily_local ON CLUSTER touchstream_cluster
(
    day             Date COMMENT 'UTC day of events.event_time' CODEC(Delta, ZSTD(1)),
    write_key       LowCardinality(String) COMMENT 'the site (events.write_key)' CODEC(ZSTD(1)),
    traffic_channel LowCardinality(String) COMMENT 'events.traffic_channel' CODEC(ZSTD(1)),
    touchpoint      LowCardinality(String) COMMENT 'events.touchpoint' CODEC(ZSTD(1)),
    utm_source      LowCardinality(String) COMMENT 'events.utm_source' CODEC(ZSTD(1)),
    utm_campaign    LowCardinality(String) COMMENT 'events.utm_campaign' CODEC(ZSTD(1)),
    visitors        AggregateFunction(uniqExact, String) COMMENT 'visitor_id: uniqExactMerge gives visitors',
    sessions        AggregateFunction(uniqExact, String) COMMENT 'session_id other than empty: uniqExactMerge gives sessions',
    events          AggregateFunction(uniqExact, String, String) COMMENT '(visitor_id, message_id), the key of events: uniqExactMerge gives events',
    customers       AggregateFunction(uniqExact, String) COMMENT 'visitor_id of orders: uniqExactMerge gives visitors who ordered',
    orders          AggregateFunction(groupUniqArray, Tuple(FixedString(16), Float64)) COMMENT 'per order (an Order Completed track event): (sipHash128(visitor_id, message_id), revenue)'
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (day, write_key, traffic_channel, touchpoint, utm_source, utm_campaign);
CREATE TABLE IF NOT EXISTS touchstream.traffic_daily ON CLUSTER touchstream_cluster
AS touchstream.traffic_daily_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'traffic_daily_local');

CREATE MATERIALIZED VIEW IF NOT EXISTS touchstream.traffic_daily_mv ON CLUSTER touchstream_cluster TO touchstream.traffic_daily_local AS
SELECT
    toDate(event_time) AS day,
    write_key,
    traffic_channel,
    touchpoint,
    utm_source,
    utm_campaign,
    uniqExactState(visitor_id) AS visitors,
    uniqExactStateIf(session_id, session_id != '') AS sessions,
    uniqExactState(visitor_id, message_id) AS events,
    uniqExactStateIf(visitor_id, type = 'track' AND event_name = 'Order Completed') AS customers,
    groupUniqArrayStateIf((sipHash128(visitor_id, message_id), revenue), type = 'track' AND event_name = 'Order Completed') AS orders
FROM touchstream.events_local
GROUP BY day, write_key, traffic_channel, touchpoint, utm_source, utm_campaign;

-- Backfill: the view only sees inserts made after it exists. Events
-- inserted between its creation and this SELECT are in both, which the
-- states absorb. (On a cluster this runs on every shard at once, from
-- events_local into traffic_daily_local: see sql/README.md, "Rollups".)
INSERT INTO touchstream.traffic_daily (day, write_key, traffic_channel, touchpoint, utm_source, utm_campaign,
    visitors, sessions, events, customers, orders)
SETTINGS parallel_distributed_insert_select = 2
SELECT
    toDate(event_time) AS day,
    write_key,
    traffic_channel,
    touchpoint,
    utm_source,
    utm_campaign,
    uniqExactState(visitor_id) AS visitors,
    uniqExactStateIf(session_id, session_id != '') AS sessions,
    uniqExactState(visitor_id, message_id) AS events,
    uniqExactStateIf(visitor_id, type = 'track' AND event_name = 'Order Completed') AS customers,
    groupUniqArrayStateIf((sipHash128(visitor_id, message_id), revenue), type = 'track' AND event_name = 'Order Completed') AS orders
FROM touchstream.events
GROUP BY day, write_key, traffic_channel, touchpoint, utm_source, utm_campaign;

-- +goose Down
DROP VIEW IF EXISTS touchstream.traffic_daily_mv ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.traffic_daily ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.traffic_daily_local ON CLUSTER touchstream_cluster SYNC;
