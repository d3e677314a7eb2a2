-- events
CREATE TABLE touchstream.events
(
    `message_id` String COMMENT 'client messageId; the deduplication key',
    `event_time` DateTime64(3, 'UTC') COMMENT 'when it happened (timestamp, else originalTimestamp corrected for clock skew with sentAt)',
    `received_at` DateTime64(3, 'UTC') COMMENT 'when the collector accepted it',
    `type` LowCardinality(String) COMMENT 'track, page, screen, identify, group, alias',
    `event_name` LowCardinality(String) COMMENT 'the track event name; the page or screen name',
    `touchpoint` LowCardinality(String) COMMENT 'web, app, social, chat, email, sms, server',
    `visitor_id` String COMMENT 'anonymousId, else userId',
    `visitor_key` UInt128 MATERIALIZED reinterpretAsUInt128(murmurHash3_128(visitor_id)) COMMENT 'murmurHash3_128 of visitor_id as a number: a fixed-size key to group visitors by',
    `user_id` String,
    `session_id` String COMMENT 'the session the processor assigned (sessions.session_id)',
    `stage` LowCardinality(String) COMMENT 'journey stage: awareness, evaluation, purchase, return, advocacy, or empty',
    `traffic_channel` LowCardinality(String) COMMENT 'GA4-style default channel group',
    `utm_source` String,
    `utm_medium` String,
    `utm_campaign` String,
    `click_id_type` LowCardinality(String) COMMENT 'the ad click id parameter: gclid, gbraid, wbraid, dclid, msclkid, yclid, fbclid, ttclid, li_fat_id, twclid, sccid, epik or rdt_cid; empty when none',
    `click_id` String COMMENT 'the value of the click id parameter, as the ad network sent it',
    `page_url` String CODEC(ZSTD(3)),
    `page_path` String,
    `referrer` String CODEC(ZSTD(3)),
    `library_name` LowCardinality(String),
    `device_type` LowCardinality(String),
    `browser` LowCardinality(String),
    `os` LowCardinality(String),
    `revenue` Float64,
    `currency` LowCardinality(String),
    `order_id` String,
    `cart_id` String,
    `engagement_time_msec` UInt32 COMMENT 'engaged time reported by the tracker with this event' CODEC(T64, ZSTD(1)),
    `properties` String COMMENT 'the event properties (identify: traits) as JSON text' CODEC(ZSTD(3)),
    `write_key` LowCardinality(String) COMMENT 'the source the event came in through',
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), visitor_id, message_id)
SETTINGS non_replicated_deduplication_window = 1000, min_bytes_for_wide_part = 67108864, index_granularity = 8192;

-- goose_db_version
CREATE TABLE touchstream.goose_db_version
(
    `version_id` Int64,
    `is_applied` UInt8,
    `date` Date DEFAULT now(),
    `tstamp` DateTime DEFAULT now()
)
ENGINE = MergeTree
ORDER BY (version_id)
SETTINGS index_granularity = 8192;

-- identities
CREATE TABLE touchstream.identities
(
    `visitor_id` String COMMENT 'the visitor (events.visitor_id: the anonymousId)',
    `user_id` String COMMENT 'the user id it is linked to (events.user_id)',
    `first_seen` DateTime64(3, 'UTC') COMMENT 'event time of the oldest event the processor saw with the link',
    `last_seen` DateTime64(3, 'UTC') COMMENT 'event time of the newest such event when the row was written; the version',
    `source` LowCardinality(String) COMMENT 'type of the event at first_seen: identify, alias, or event (any other type)',
    `message_id` String COMMENT 'the event at first_seen',
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(last_seen)
ORDER BY (visitor_id, user_id)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8192;

-- net_orders
CREATE VIEW touchstream.net_orders
(
    `message_id` String,
    `event_time` DateTime64(3, 'UTC'),
    `visitor_id` String,
    `user_id` String,
    `session_id` String,
    `order_id` String,
    `write_key` LowCardinality(String),
    `revenue` Float64,
    `refunded` Float64,
    `net_revenue` Float64
)
AS WITH
    order_changes AS
    (
        SELECT
            order_id,
            max(event_name = 'Order Cancelled') AS cancelled,
            max((event_name = 'Order Refunded') AND (abs(revenue) = 0)) AS refunded_in_full,
            sumIf(abs(revenue), event_name = 'Order Refunded') AS refunded
        FROM touchstream.events
        FINAL
        WHERE (type = 'track') AND (event_name IN ('Order Cancelled', 'Order Refunded')) AND (order_id != '')
        GROUP BY order_id
    )
SELECT
    o.message_id AS message_id,
    o.event_time AS event_time,
    o.visitor_id AS visitor_id,
    o.user_id AS user_id,
    o.session_id AS session_id,
    o.order_id AS order_id,
    o.write_key AS write_key,
    o.revenue AS revenue,
    toFloat64(ifNull(c.refunded, 0)) AS refunded,
    toFloat64(if(ifNull(c.refunded_in_full, 0) != 0, 0, greatest(0, o.revenue - ifNull(c.refunded, 0)))) AS net_revenue
FROM touchstream.events AS o
FINAL
LEFT JOIN order_changes AS c ON c.order_id = o.order_id
WHERE (o.type = 'track') AND (o.event_name = 'Order Completed') AND (ifNull(c.cancelled, 0) = 0);

-- persons
CREATE VIEW touchstream.persons
(
    `visitor_id` String,
    `person_id` String,
    `linked_users` UInt64,
    `first_linked` DateTime64(3, 'UTC'),
    `last_linked` DateTime64(3, 'UTC')
)
AS SELECT
    visitor_id,
    argMax(user_id, (last_seen, user_id)) AS person_id,
    uniqExact(user_id) AS linked_users,
    min(first_seen) AS first_linked,
    max(last_seen) AS last_linked
FROM touchstream.identities
FINAL
GROUP BY visitor_id;

-- rejected_events
CREATE TABLE touchstream.rejected_events
(
    `received_at` DateTime64(3, 'UTC') COMMENT 'when the collector received the request',
    `source` LowCardinality(String) COMMENT 'the endpoint that refused it, e.g. /v1/batch',
    `write_key` LowCardinality(String) COMMENT 'the source it came in through; empty if unknown',
    `batch_index` Int32 COMMENT 'position of the event in its batch; -1 when the whole request was refused',
    `error` String COMMENT 'why it was refused, as answered to the client',
    `payload` String COMMENT 'the refused event or body as JSON text; empty when too large to keep',
    `kafka_partition` Int32 COMMENT 'partition of clickstream.rejected the dead letter was read from',
    `kafka_offset` Int64 COMMENT 'its offset in that partition',
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, kafka_partition, kafka_offset)
TTL toDateTime(received_at) + toIntervalDay(30)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8192;

-- sessions
CREATE TABLE touchstream.sessions
(
    `session_id` String COMMENT 'hash of visitor_id and the first event time',
    `visitor_id` String,
    `user_id` String,
    `start_time` DateTime64(3, 'UTC') COMMENT 'first event time; the session belongs to this day',
    `end_time` DateTime64(3, 'UTC') COMMENT 'last event time',
    `events` UInt32,
    `page_views` UInt32 COMMENT 'page and screen views',
    `engaged_msec` UInt64 COMMENT 'sum of engagement_time_msec, capped per event',
    `entry_page` String,
    `exit_page` String,
    `touchpoint` LowCardinality(String) COMMENT 'of the first event',
    `traffic_channel` LowCardinality(String) COMMENT 'of the first event',
    `utm_source` String,
    `utm_medium` String,
    `utm_campaign` String,
    `device_type` LowCardinality(String),
    `conversions` UInt32 COMMENT 'Order Completed events',
    `revenue` Float64,
    `version` UInt64 COMMENT 'the newest version of a session wins',
    `is_deleted` UInt8 COMMENT '1: a restatement removed this session',
    `duration_seconds` Float64 ALIAS dateDiff('millisecond', start_time, end_time) / 1000 COMMENT 'last event time - first event time',
    `engaged_seconds` Float64 ALIAS engaged_msec / 1000,
    `engaged` UInt8 ALIAS (duration_seconds >= 10) OR (page_views >= 2) OR (conversions > 0) COMMENT 'engaged session (DESIGN.md section 5)'
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(start_time)
ORDER BY (visitor_id, session_id)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8192;

-- stage_transitions
CREATE TABLE touchstream.stage_transitions
(
    `visitor_id` String,
    `user_id` String,
    `from_stage` LowCardinality(String) COMMENT 'the stage before; empty for the first stage reached',
    `to_stage` LowCardinality(String) COMMENT 'awareness, evaluation, purchase, return or advocacy',
    `event_time` DateTime64(3, 'UTC') COMMENT 'time of the event that moved the visitor',
    `message_id` String COMMENT 'that event; with visitor_id the key of the row',
    `session_id` String,
    `touchpoint` LowCardinality(String),
    `traffic_channel` LowCardinality(String),
    `inserted_at` DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (visitor_id, message_id)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8192;

-- traffic_daily
CREATE TABLE touchstream.traffic_daily
(
    `day` Date COMMENT 'UTC day of events.event_time' CODEC(Delta(2), ZSTD(1)),
    `write_key` LowCardinality(String) COMMENT 'the site (events.write_key)' CODEC(ZSTD(1)),
    `traffic_channel` LowCardinality(String) COMMENT 'events.traffic_channel' CODEC(ZSTD(1)),
    `touchpoint` LowCardinality(String) COMMENT 'events.touchpoint' CODEC(ZSTD(1)),
    `utm_source` LowCardinality(String) COMMENT 'events.utm_source' CODEC(ZSTD(1)),
    `utm_campaign` LowCardinality(String) COMMENT 'events.utm_campaign' CODEC(ZSTD(1)),
    `visitors` AggregateFunction(uniqExact, String) COMMENT 'visitor_id: uniqExactMerge gives visitors',
    `sessions` AggregateFunction(uniqExact, String) COMMENT 'session_id other than empty: uniqExactMerge gives sessions',
    `events` AggregateFunction(uniqExact, String, String) COMMENT '(visitor_id, message_id), the key of events: uniqExactMerge gives events',
    `customers` AggregateFunction(uniqExact, String) COMMENT 'visitor_id of orders: uniqExactMerge gives visitors who ordered',
    `orders` AggregateFunction(groupUniqArray, Tuple(
        FixedString(16),
        Float64)) COMMENT 'per order (an Order Completed track event): (sipHash128(visitor_id, message_id), revenue)'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, write_key, traffic_channel, touchpoint, utm_source, utm_campaign)
SETTINGS index_granularity = 8192;

-- traffic_daily_mv
CREATE MATERIALIZED VIEW touchstream.traffic_daily_mv TO touchstream.traffic_daily
(
    `day` Date,
    `write_key` LowCardinality(String),
    `traffic_channel` LowCardinality(String),
    `touchpoint` LowCardinality(String),
    `utm_source` String,
    `utm_campaign` String,
    `visitors` AggregateFunction(uniqExact, String),
    `sessions` AggregateFunction(uniqExact, String),
    `events` AggregateFunction(uniqExact, String, String),
    `customers` AggregateFunction(uniqExact, String),
    `orders` AggregateFunction(groupUniqArray, Tuple(
        FixedString(16),
        Float64))
)
AS SELECT
    toDate(event_time) AS day,
    write_key,
    traffic_channel,
    touchpoint,
    utm_source,
    utm_campaign,
    uniqExactState(visitor_id) AS visitors,
    uniqExactStateIf(session_id, session_id != '') AS sessions,
    uniqExactState(visitor_id, message_id) AS events,
    uniqExactStateIf(visitor_id, (type = 'track') AND (event_name = 'Order Completed')) AS customers,
    groupUniqArrayStateIf((sipHash128(visitor_id, message_id), revenue), (type = 'track') AND (event_name = 'Order Completed')) AS orders
FROM touchstream.events
GROUP BY
    day,
    write_key,
    traffic_channel,
    touchpoint,
    utm_source,
    utm_campaign;

