// Package spool keeps the collector answering during a Kafka outage: Spool
// is a collector.Publisher that decorates another one (package kafka's) with
// a bounded, durable queue on local disk.
//
// While the spool is empty, Publish hands a batch straight to the next
// publisher with a short timeout (Options.DirectTimeout). If that fails, or
// if the spool already holds anything (so that a visitor's later events do
// not overtake its earlier ones), the batch is written to a segment file in
// the spool directory, fsynced and renamed into place, and Publish returns
// nil: the collector answers 2xx only once events are acknowledged by Kafka
// or durably on disk. When appending would take the spool past
// Options.MaxBytes, Publish returns ErrFull instead, which the collector
// answers with 503 and Retry-After.
//
// Run drains the segments in the order they were written, several at a time,
// retrying with exponential back-off (cenkalti/backoff/v4), and deletes a
// segment only after the next publisher acknowledged it. A new Spool on the
// same directory resumes what a previous process left, so the spool survives
// a restart. Delivery from the spool is at least once: a crash between
// Kafka's acknowledgement and the deletion, or a direct attempt that timed
// out after Kafka stored part of it, sends events again, and consumers
// deduplicate on MessageID (the processor does). After a clean stop nothing
// acknowledged is sent again.
//
// Errors while draining are of two kinds. Retryable ones (Kafka away, a
// leader moving, a timeout) are retried with back-off, the segments kept
// in order. A *collector.PermanentError (Kafka refuses the records for
// good: too large for the topic, invalid) must not stall the drain: the
// batch is split in halves, each delivered in turn, down to the single
// events Kafka refuses on their own, which are appended with the error to
// dead-letters.jsonl in the spool directory (fsynced) and counted; the
// drain goes on with the rest. Kafka refuses a whole record batch for one
// record too large, so the split re-sends good events: duplicates that
// consumers drop.
//
// Dead letters of the collector (Reject) are not spooled: they pass
// straight through, and the collector only logs their failures. Ready
// returns nil while the spool can accept a batch, whatever the state of
// Kafka, so /readyz stays green through an outage and turns red only when
// the spool is full (or the disk failed).
//
// One Spool at a time may use a directory: New takes an exclusive flock on
// spool.lock in it and fails fast with ErrLocked while another process (or
// another open Spool) holds it; Close, or the process's exit, releases it.
//
// Metrics, when Options.Registerer is set:
//
//	touchstream_collector_spool_bytes               bytes of events waiting on disk
//	touchstream_collector_spool_events              events waiting on disk
//	touchstream_collector_spool_segments            segment files waiting on disk
//	touchstream_collector_spool_dead_letters_total  events Kafka refused for good, moved to dead-letters.jsonl
package spool
