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
