// Package clickhouse is Touchstream's ClickHouse adapter: it opens
// connections from a DSN (http://host:8123/db for the HTTP interface, which
// the embedded ClickHouse serves; clickhouse://host:9000/db for a server's
// native protocol), applies the embedded goose migrations of the storage
// contract (Migrate, MigrateWith), and writes events and sessions in
// idempotent batches (Sink).
//
// On a cluster (MigrateWith with a cluster name) the same migrations are
// rewritten statement by statement (cluster.go): each table becomes a
// Replicated*MergeTree local table t_local and a Distributed table t sharded
// by visitor_id, all ON CLUSTER, and goose's version table is a replicated
// table of its own (versions.go). retention.go sets the raw events' TTL.
//
// Errors from the Sink are either permanent (a *PermanentError: schema, type
// or syntax errors, an unknown database or table, a refused request) or
// retryable (everything else: the network, timeouts, 5xx answers). A write
// retried with the same deduplication token lands once, so retrying is always
// safe.
package clickhouse
