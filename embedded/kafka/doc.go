// Package kafka runs the embedded Kafka: franz-go's kfake, an in-process
// broker that speaks the real Kafka wire protocol on a real port, seeded with
// Touchstream's topics. Clients (segmentio/kafka-go here) talk to it exactly
// as to a cluster. It keeps data in memory only: a restart loses every
// record and committed offset.
package kafka
