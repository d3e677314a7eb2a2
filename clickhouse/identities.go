package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// identityColumns are the identities columns the Sink writes, in the order
// WriteIdentities fills them. inserted_at takes its default.
var identityColumns = []string{
	"visitor_id", "user_id", "first_seen", "last_seen", "source", "message_id",
}

// WriteIdentities inserts identity links as one batch, with token as for
// WriteEvents. Rows are keyed by (visitor_id, user_id) with last_seen as
// the version, so a link written twice, or again later with an older
// last_seen, counts once in FINAL reads, with its newest last_seen.
func (s *Sink) WriteIdentities(ctx context.Context, ids []pipeline.Identity, token string) error {
	if len(ids) == 0 {
		return nil
	}
	n := len(ids)
	var (
		visitorID = make([]string, n)
		userID    = make([]string, n)
		firstSeen = make([]time.Time, n)
		lastSeen  = make([]time.Time, n)
		source    = make([]string, n)
		messageID = make([]string, n)
	)
	for i := range ids {
		id := &ids[i]
		visitorID[i], userID[i] = id.VisitorID, id.UserID
		firstSeen[i], lastSeen[i] = id.FirstSeen.UTC(), id.LastSeen.UTC()
		source[i], messageID[i] = id.Source, id.MessageID
	}
	columns := []any{visitorID, userID, firstSeen, lastSeen, source, messageID}
	if err := s.send(ctx, s.identities, identityColumns, columns, token); err != nil {
		return fmt.Errorf("write %d identities: %w", n, err)
	}
	return nil
}
