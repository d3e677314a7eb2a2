// Package devstack runs the whole pipeline in one process on the embedded
// engines: embedded Kafka, embedded ClickHouse (migrated), the collector and
// one processor. `touchstream dev` and `touchstream demo` run it, and so do
// the end-to-end tests. Each part talks to the others over its real protocol
// (Kafka wire protocol, ClickHouse HTTP), exactly as separate processes do.
package devstack
