-- Journey stage changes, one row per visitor moving to another stage
-- (DESIGN.md section 5). Documented in sql/README.md.

-- +goose Up
CREATE TABLE IF NOT EXISTS touchstream.stage_transitions_local ON CLUSTER touchstream_cluster
(
    visitor_id      String,
    user_id         String,
    from_stage      LowCardinality(String) COMMENT 'the stage before; empty for the first stage reached',
    to_stage        LowCardinality(String) COMMENT 'awareness, evaluation, purchase, return or advocacy',
    event_time      DateTime64(3, 'UTC') COMMENT 'time of the event that moved the visitor',
    message_id      String COMMENT 'that event; with visitor_id the key of the row',
    session_id      String,
    touchpoint      LowCardinality(String),
    traffic_channel LowCardinality(String),
    inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (visitor_id, message_id)
SETTINGS replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS touchstream.stage_transitions ON CLUSTER touchstream_cluster
AS touchstream.stage_transitions_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'stage_transitions_local', cityHash64(visitor_id));

-- +goose Down
DROP TABLE IF EXISTS touchstream.stage_transitions ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.stage_transitions_local ON CLUSTER touchstream_cluster SYNC;
