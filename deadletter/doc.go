// Package deadletter copies the collector's dead letters from the Kafka
// topic clickstream.rejected (pipeline.TopicRejected) into the ClickHouse
// table rejected_events (sql/migrations/00005_rejected_events.sql), so that
// operators and BI tools can query what was refused and why.
//
// Run is one member of its own consumer group (default
// "touchstream-deadletters", apart from the processor's). It reads dead
// letters in batches bounded by size and time, writes each batch as one
// INSERT whose insert_deduplication_token names the partitions and offset
// ranges it holds, and commits the offsets only after the write succeeded.
// A batch retried after an error lands once (the token); a message read
// again after a crash or a rebalance is written again and replaces its
// earlier copy under FINAL (the table is a ReplacingMergeTree keyed by
// received_at and the Kafka partition and offset). So nothing is lost and,
// read with FINAL, nothing is doubled.
//
// Every write error is retried with exponential backoff (at most
// Config.MaxRetryInterval apart), permanent ones too (an unknown table, a
// refused login; logged as errors): dead letters are not dropped because
// ClickHouse is misconfigured, and the consumer resumes by itself once the
// schema is migrated. Offsets are not committed meanwhile; the errors are
// logged and counted. A message that is not a pipeline.Rejected (not
// written by the collector) is kept too, with the error "undecodable dead
// letter: ..." and the raw message as its payload. On cancel, Run writes and commits what it holds (within
// Config.StopTimeout) and leaves the group.
//
// Metrics (on the injected prometheus.Registerer):
//
//	touchstream_deadletters_written_total               rows written (a replay counts again)
//	touchstream_deadletters_write_errors_total{kind}     failed write attempts: retryable, permanent
//	touchstream_deadletters_commit_errors_total          offset commits that failed (the rows are written; a replay rewrites them)
//	touchstream_deadletters_undecodable_total            messages that were not a pipeline.Rejected
//	touchstream_deadletters_flush_duration_seconds       time to write and commit one batch, retries included
package deadletter
