// Package kafka is Touchstream's adapter to Apache Kafka, built on
// segmentio/kafka-go. It talks to a real cluster and to the embedded broker
// (package embedded/kafka) alike.
//
// Publisher is the collector's side: it writes accepted events to
// pipeline.TopicEvents as JSON of pipeline.Event, keyed by the visitor id so
// that one visitor's events share a partition (kafka-go's Hash balancer:
// FNV-1a of the key, as Sarama's hash partitioner), and dead letters to
// pipeline.TopicRejected as JSON of pipeline.Rejected with no key. The JSON
// is their AppendJSON's (the bytes json.Marshal gives, without
// reflection), one write's messages encoded into one pooled buffer that is
// reused only after a write that succeeded. Writes are synchronous and
// wait for all in-sync replicas (acks=all), so a nil error means Kafka has
// every message. The topics are not created here: the
// embedded broker seeds them, a real cluster must have them.
//
// A write Kafka refuses for good (a record, or the record batch holding it,
// over the topic's max.message.bytes or the writer's BatchBytes; an
// invalid record or topic) comes back as a *collector.PermanentError, so
// that the disk spool moves the events at fault aside instead of retrying
// them forever; every other error, unknown ones included, is retryable.
package kafka
