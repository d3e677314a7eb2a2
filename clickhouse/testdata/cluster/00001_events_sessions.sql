-- Events and sessions: the storage contract of DESIGN.md section 6.
-- Documented column by column in sql/README.md.

-- +goose Up
CREATE TABLE IF NOT EXISTS touchstream.events_local ON CLUSTER touchstream_cluster
(
    message_id           String COMMENT 'client messageId; the deduplication key',
    event_time           DateTime64(3, 'UTC') COMMENT 'when it happened (timestamp, else originalTimestamp corrected for clock skew with sentAt)',
    received_at          DateTime64(3, 'UTC') COMMENT 'when the collector accepted it',
    type                 LowCardinality(String) COMMENT 'track, page, screen, identify, group, alias',
    event_name           LowCardinality(String) COMMENT 'the track event name; the page or screen name',
    touchpoint           LowCardinality(String) COMMENT 'web, app, social, chat, email, sms, server',
    visitor_id           String COMMENT 'anonymousId, else userId',
    user_id              String,
    session_id           String COMMENT 'the session the processor assigned (sessions.session_id)',
    stage                LowCardinality(String) COMMENT 'journey stage: awareness, evaluation, purchase, return, advocacy, or empty',
    traffic_channel      LowCardinality(String) COMMENT 'GA4-style default channel group',
    utm_source           String,
    utm_medium           String,
    utm_campaign         String,
    page_url             String,
    page_path            String,
    referrer             String,
    library_name         LowCardinality(String),
    device_type          LowCardinality(String),
    browser              LowCardinality(String),
    os                   LowCardinality(String),
    revenue              Float64,
    currency             LowCardinality(String),
    order_id             String,
    cart_id              String,
    engagement_time_msec UInt32 COMMENT 'engaged time reported by the tracker with this event',
    properties           String COMMENT 'the event properties (identify: traits) as JSON text',
    write_key            LowCardinality(String) COMMENT 'the source the event came in through',
    inserted_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (visitor_id, message_id)
SETTINGS replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS touchstream.events ON CLUSTER touchstream_cluster
AS touchstream.events_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'events_local', cityHash64(visitor_id));

CREATE TABLE IF NOT EXISTS touchstream.sessions_local ON CLUSTER touchstream_cluster
(
    session_id        String COMMENT 'hash of visitor_id and the first event time',
    visitor_id        String,
    user_id           String,
    start_time        DateTime64(3, 'UTC') COMMENT 'first event time; the session belongs to this day',
    end_time          DateTime64(3, 'UTC') COMMENT 'last event time',
    events            UInt32,
    page_views        UInt32 COMMENT 'page and screen views',
    engaged_msec      UInt64 COMMENT 'sum of engagement_time_msec, capped per event',
    entry_page        String,
    exit_page         String,
    touchpoint        LowCardinality(String) COMMENT 'of the first event',
    traffic_channel   LowCardinality(String) COMMENT 'of the first event',
    utm_source        String,
    utm_medium        String,
    utm_campaign      String,
    device_type       LowCardinality(String),
    conversions       UInt32 COMMENT 'Order Completed events',
    revenue           Float64,
    version           UInt64 COMMENT 'the newest version of a session wins',
    is_deleted        UInt8 COMMENT '1: a restatement removed this session',
    duration_seconds  Float64 ALIAS dateDiff('millisecond', start_time, end_time) / 1000 COMMENT 'last event time - first event time',
    engaged_seconds   Float64 ALIAS engaged_msec / 1000,
    engaged           UInt8 ALIAS duration_seconds >= 10 OR page_views >= 2 OR conversions > 0 COMMENT 'engaged session (DESIGN.md section 5)'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version, is_deleted)
PARTITION BY toYYYYMM(start_time)
ORDER BY (visitor_id, session_id)
SETTINGS replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS touchstream.sessions ON CLUSTER touchstream_cluster
AS touchstream.sessions_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'sessions_local', cityHash64(visitor_id));

-- +goose Down
DROP TABLE IF EXISTS touchstream.sessions ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.sessions_local ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.events ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.events_local ON CLUSTER touchstream_cluster SYNC;
