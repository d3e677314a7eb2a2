// Package testenv starts the real embedded services for tests: the embedded
// ClickHouse (one per test process, since the engine allows one storage path
// per process) and embedded Kafka brokers (one per call). Tests talk to them
// over their real protocols.
package testenv
