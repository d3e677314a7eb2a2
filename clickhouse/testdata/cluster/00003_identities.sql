-- Identity links and persons (DESIGN.md section 5: a person joins the
-- visitors linked by identify/alias to one user id). Documented in
-- sql/README.md.

-- +goose Up
CREATE TABLE IF NOT EXISTS touchstream.identities_local ON CLUSTER touchstream_cluster
(
    visitor_id  String COMMENT 'the visitor (events.visitor_id: the anonymousId)',
    user_id     String COMMENT 'the user id it is linked to (events.user_id)',
    first_seen  DateTime64(3, 'UTC') COMMENT 'event time of the oldest event the processor saw with the link',
    last_seen   DateTime64(3, 'UTC') COMMENT 'event time of the newest such event when the row was written; the version',
    source      LowCardinality(String) COMMENT 'type of the event at first_seen: identify, alias, or event (any other type)',
    message_id  String COMMENT 'the event at first_seen',
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', last_seen)
ORDER BY (visitor_id, user_id)
SETTINGS replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS touchstream.identities ON CLUSTER touchstream_cluster
AS touchstream.identities_local
ENGINE = Distributed('touchstream_cluster', 'touchstream', 'identities_local', cityHash64(visitor_id));

-- persons: each linked visitor's person, the user id of its most recent
-- link. A visitor with no link is its own person (not listed here): join
-- with LEFT JOIN and take coalesce(nullIf(person_id, ''), visitor_id).
CREATE VIEW IF NOT EXISTS touchstream.persons ON CLUSTER touchstream_cluster AS
SELECT
    visitor_id,
    argMax(user_id, (last_seen, user_id)) AS person_id,
    uniqExact(user_id) AS linked_users,
    min(first_seen) AS first_linked,
    max(last_seen) AS last_linked
FROM identities FINAL
GROUP BY visitor_id;

-- +goose Down
DROP VIEW IF EXISTS touchstream.persons ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.identities ON CLUSTER touchstream_cluster SYNC;
DROP TABLE IF EXISTS touchstream.identities_local ON CLUSTER touchstream_cluster SYNC;
