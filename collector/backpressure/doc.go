// Package backpressure decides how a protocol handler answers when the
// collector did not take its events (collector.Server.Accept failed): 429
// with the rate limiter's delay when the write key is over its rate, else
// 503 (Kafka, and the spool if any, could not store them). The pixel,
// webhook and Snowplow handlers share it, so every route answers a rate
// limit the way the Segment API does.
package backpressure
