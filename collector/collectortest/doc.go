// Package collectortest starts a collector in front of an embedded Kafka
// broker, for the integration tests of the packages whose handlers the
// collector serves (pixel, redirect, snowplow, tracker, webhook, ...). Read
// what it published with testenv.ReadTopic(t, stack.Kafka, topic).
//
// The collector package's own tests cannot import it: it imports the
// collector.
package collectortest
