// Package clickhouse is Touchstream's ClickHouse adapter: it opens
// connections from a DSN (http://host:8123/db for the HTTP interface, which
// the embedded ClickHouse serves; clickhouse://host:9000/db for a server's
// native protocol), applies the embedded goose migrations of the storage
// contract (Migrate), and writes events and sessions in idempotent batches
// (Sink).
//
// Errors from the Sink are either permanent (a *PermanentError: schema, type
// or syntax errors, an unknown database or table, a refused request) or
// retryable (everything else: the network, timeouts, 5xx answers). A write
// retried with the same deduplication token lands once, so retrying is always
// safe.
package clickhouse
