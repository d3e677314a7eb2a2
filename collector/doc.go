// Package collector is Touchstream's ingestion service: the
// Segment/RudderStack HTTP API (POST /v1/batch, /v1/import, /v1/track,
// /v1/page, /v1/screen, /v1/identify, /v1/group, /v1/alias and analytics.js's
// short paths /v1/b, /v1/t, /v1/p, /v1/s, /v1/i, /v1/g, /v1/a; /v1/m is
// answered and dropped). It authenticates the write key, decodes and
// validates each event, maps it to the canonical pipeline.Event, publishes
// the accepted ones through a Publisher (package kafka) and the refused ones
// as dead letters, and answers only once Kafka has acknowledged them.
//
// Answers: 200 {"accepted":N,"rejected":[{"index":i,"error":"..."}]} (a
// single-event call whose event is refused gets 400 instead); 400 for a
// body that cannot be read or that nests JSON deeper than MaxJSONDepth (64)
// levels (checked by a scan of the bytes before decoding); 401 for an
// unknown or missing write key; 403 for a browser Origin the write key's
// source does not allow; 413 over MaxEventBytes (a single event) or
// MaxBatchBytes (a body, after decompression: a gzip body stops being
// inflated past the limit; an event over the limit inside a batch is
// refused alone); 415 for a Content-Encoding other than gzip; 429 with
// Retry-After (whole seconds, at least 1) when the write key's source is
// over its rate; 503 with Retry-After when Kafka did not acknowledge in
// time. Errors are {"error":"..."}.
//
// Write keys belong to sources (Config.Sources, read from a file by
// LoadSources; each of Config.WriteKeys is a source of its own named
// "write_keys[i]"). Logs and metrics name sources, never write keys. Each
// source has a token bucket counting events, not requests (default 1000
// events a second, burst 2000; a source sets its own or none): a request
// whose events do not fit is refused whole, and a batch larger than the
// burst takes the whole bucket. Accept, which the pixel, webhook and
// Snowplow handlers use, counts against the same buckets and returns a
// *RateLimitedError; those handlers answer it with 429 and its Retry-After
// (package backpressure), other Accept errors with 503. CORS: a source's AllowedOrigins, when set,
// are the only origins answered (echoed, with Vary: Origin); other sources
// answer "*". The key in the body is known only once the body is parsed,
// so that check happens then (see cors.go).
//
// It also serves GET /healthz (always 200), GET /readyz (200 when the
// publisher reaches Kafka) and GET /metrics, with these metrics:
//
//	touchstream_collector_events_received_total{endpoint}   events in request bodies, good or bad
//	touchstream_collector_events_rejected_total{reason}     refused events; a request refused whole counts once
//	touchstream_collector_requests_total{endpoint,code}     ingestion requests by answer
//	touchstream_collector_publish_duration_seconds          publish to Kafka, until acknowledged
//	touchstream_collector_publish_failures_total{topic}     publishes that failed (events: 503; rejected: dead letters lost)
//	touchstream_collector_rate_limited_total{source}        events refused because their source was over its rate
//
// endpoint is the long form of the path (/v1/t counts as /v1/track); reason
// is one of malformed, too_large, unauthorized, invalid_type, missing_id,
// missing_event, invalid_time, invalid_field, too_deep, forbidden_origin.
package collector
