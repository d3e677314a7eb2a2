// Package processor is Touchstream's stream processor: one member of a Kafka
// consumer group on clickstream.events. Each assigned partition gets its own
// goroutine with its own sessionizer state; it decodes events, gives each a
// traffic channel, drops duplicates (same messageId), sessionizes in event
// time, assigns journey stages, links visitors to user ids, and writes
// events, stage transitions, identity links and changed sessions to
// ClickHouse in batches bounded by size and time.
// The partitions' batches are written by one writer per process (group
// commit, writer.go): batches of partitions flushing at the same time go
// out as one insert per table. A partition's offsets are committed only
// after the write holding its rows succeeded, and each write carries a
// deduplication token derived from the partitions, offsets and runs it
// holds, so a retried write lands once. The committed offset is the oldest
// one the partition's state still needs; its commit carries the watermark
// before it, which a partition starting from it restores (offsets.go), so
// a replay after a crash or rebalance writes the same rows.
//
// Journey triggers (package triggers) go to Config.Triggers with the batch,
// after its rows and before its offsets are committed; a replay publishes
// again, with the same message ids and the same content, the triggers of
// the offsets it reads again. A visitor's trigger state lives and dies with
// its journey: it is forgotten once the visitor has been idle for longer
// than the lateness allowance, at a flush or before the visitor's next
// event (triggers.go), so it is bounded by the visitors active within the
// allowance and never depends on where batches were cut. An order recovers
// an abandoned cart only while its visitor is held. Carts are abandoned
// when the partition's event time passes their deadline, or, on a quiet
// partition (read to its end, nothing new for Config.IdleAdvance, 1 min by
// default), when wall time minus IdleAdvance does: the one trigger
// decision that depends on when the processor runs (triggers.go).
//
// Run survives Kafka outages of any length: when the group cannot be
// joined or the member was dropped from it, the generation is over and
// Run joins again with backoff (rejoins_total). Once its context is done
// it retries a failing write for Config.ShutdownTimeout more, then gives
// the batch up uncommitted and returns ErrShutdownUnwritten.
//
// Metrics (on the injected prometheus.Registerer):
//
//	touchstream_processor_events_total{result}       consumed events: written, duplicate, late, invalid
//	touchstream_processor_sessions_written_total     session rows written (including restatements and tombstones)
//	touchstream_processor_flush_duration_seconds     time to write one batch (events + sessions)
//	touchstream_processor_flush_errors_total         failed write attempts (retried)
//	touchstream_processor_write_duration_seconds     time to write the merged batches of one group commit
//	touchstream_processor_write_partitions           partition batches merged into one write
//	touchstream_processor_flush_events              events in one partition's flushed batch
//	touchstream_processor_open_visitors{partition}   visitors held in sessionizer state
//	touchstream_processor_open_sessions{partition}   sessions held in sessionizer state (a late event may still change them)
//	touchstream_processor_sessions_restated_total    session rows rewritten after an out-of-order event
//	touchstream_processor_lag_seconds{partition}     wall time minus the newest event's received_at
//	touchstream_processor_consumer_lag_messages{partition}  messages after the newest one consumed
//	touchstream_processor_rejoins_total              consumer group errors (e.g. Kafka unreachable) after which it joined again
package processor
