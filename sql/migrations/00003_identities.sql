-- Identity links and persons (DESIGN.md section 5: a person joins the
-- visitors linked by identify/alias to one user id). Documented in
-- sql/README.md.

-- +goose Up
CREATE TABLE IF NOT EXISTS identities
(
    visitor_id  String COMMENT 'the visitor (events.visitor_id: the anonymousId)',
    user_id     String COMMENT 'the user id it is linked to (events.user_id)',
    first_seen  DateTime64(3, 'UTC') COMMENT 'event time of the oldest event the processor saw with the link',
    last_seen   DateTime64(3, 'UTC') COMMENT 'event time of the newest such event when the row was written; the version',
    source      LowCardinality(String) COMMENT 'type of the event at first_seen: identify, alias, or event (any other type)',
    message_id  String COMMENT 'the event at first_seen',
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(last_seen)
ORDER BY (visitor_id, user_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- persons: each linked visitor's person, the user id of its most recent
-- link. A visitor with no link is its own person (not listed here): join
-- with LEFT JOIN and take coalesce(nullIf(person_id, ''), visitor_id).
CREATE VIEW IF NOT EXISTS persons AS
SELECT
    visitor_id,
    argMax(user_id, (last_seen, user_id)) AS person_id,
    uniqExact(user_id) AS linked_users,
    min(first_seen) AS first_linked,
    max(last_seen) AS last_linked
FROM identities FINAL
GROUP BY visitor_id;

-- +goose Down
DROP VIEW IF EXISTS persons;
DROP TABLE IF EXISTS identities;
