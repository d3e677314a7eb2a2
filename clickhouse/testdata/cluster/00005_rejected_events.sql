-- Dead letters: what the collector refused, with the reason (DESIGN.md
-- section 6, rejected_events), copied from the Kafka topic
-- clickstream.rejected by the dead-letter consumer (package deadletter).
-- Documented in sql/README.md, "Table rejected_events".
--
-- A row is one message of the topic, keyed by its Kafka coordinates: a
-- message read again (a replay after a crash or a rebalance) replaces its
-- earlier copy under FINAL. received_at is in the key too, so that a topic
-- whose offsets start over (the embedded Kafka keeps no data across
-- restarts) never replaces older rows. Rows go 30 days after received_at.

-- +goose Up
CREATE TABLE IF NOT EXISTS touchstream.rejected_events_local ON CLUSTER touchstream_cluster
(
    received_at     DateTime64(3, 'UTC') COMMENT 'when the collector received the request',
    source          LowCardinality(String) COMMENT 'the endpoint that refused it, e.g. /v1/batch',
    write_key       LowCardinality(String) COMMENT 'the source it came in through; empty if unknown',
    batch_index     Int32 COMMENT 'position of the event in its batch; -1 when the whole request was refused',
    error           String COMMENT 'why it was refused, as answered to the client',
    payload         String COMMENT 'the refused event or body as JSON text; empty when too large to keep',
    kafka_partition Int32 COMMENT 'partition of clickstream.rejected the dead letter was read from',
    kafka_offset    Int64 COMMENT 'its offset in that partition',
    inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, kafka_partition, kafka_offset)
TTL toDateTime(received_at) + INTERVAL 30 DAY
SETTINGS replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS touchstream.rejected_events ON CLUSTER touchstream_cluster
AS touchstream.rejected_events_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'rejected_events_local', cityHash64(received_at, kafka_partition, kafka_offset));

-- +goose Down
DROP TABLE IF EXISTS touchstream.rejected_events ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.rejected_events_local ON CLUSTER touchstream_cluster SYNC;
