package collector

import (
	"context"

	"github.com/touchstream/touchstream/pipeline"
)

// Publisher is where the collector hands what it received (package kafka
// implements it). All methods are safe to call concurrently.
type Publisher interface {
	// Publish stores events on pipeline.TopicEvents, keyed by VisitorID, and
	// returns nil only once every one is durably acknowledged. On error some
	// may have been stored: the client retries, consumers deduplicate on
	// MessageID.
	Publish(ctx context.Context, events []pipeline.Event) error
	// Reject stores dead letters on pipeline.TopicRejected, with the same
	// acknowledgement rule as Publish.
	Reject(ctx context.Context, rejected []pipeline.Rejected) error
	// Ready returns nil when the publisher can reach its backend; /readyz
	// calls it on every probe, so it must be cheap (cached).
	Ready(ctx context.Context) error
}

// PermanentError is a Publish failure that repeating the same events cannot
// fix: Kafka refused them for good (a record too large for the topic, an
// invalid record or topic). Any other error may go away when retried.
// Check for it with errors.As; the spool moves such events aside instead
// of retrying them forever.
type PermanentError struct {
	Err error
	// Unwritten lists the indexes of the events that were not stored, when
	// the publisher knows (the others were); nil means any may be unstored.
	Unwritten []int
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }
