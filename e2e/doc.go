// Package e2e holds the end-to-end tests: generated visitors go through the
// collector's HTTP API, the embedded Kafka, the processor and the embedded
// ClickHouse, and the reports must equal the generator's own answers.
package e2e
