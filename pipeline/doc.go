// Package pipeline holds Touchstream's domain vocabulary, shared by the
// collector, the processor and the reports: the canonical Event the collector
// publishes to Kafka, the Session the processor derives, and the names of
// topics and well-known events. It does no I/O; adapters live in sibling
// packages named after what they talk to (kafka, clickhouse).
//
// encode.go writes an Event or a Rejected as JSON without reflection
// (AppendJSON): the bytes and errors of encoding/json.Marshal, checked by a
// differential fuzz test, for the collector's hot path to Kafka.
package pipeline
