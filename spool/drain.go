package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/pipeline"
)

// Run drains the spool to the next publisher until ctx is done, oldest
// segment first, retrying with exponential back-off while the next
// publisher fails. It deletes a segment only once the next publisher
// acknowledged all its events. What is left when ctx ends stays on disk for
// the next Spool on the directory. It returns nil when ctx ends.
func (s *Spool) Run(ctx context.Context) error {
	for {
		for s.drainOnce(ctx) {
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
	}
}

// drainOnce publishes the oldest segments (up to Options.DrainBatch events)
// and deletes them; it reports whether there may be more to drain.
func (s *Spool) drainOnce(ctx context.Context) bool {
	s.mu.Lock()
	var head []segment
	n := 0
	for _, g := range s.queue {
		if len(head) > 0 && n+g.events > s.opts.DrainBatch {
			break
		}
		head = append(head, g)
		n += g.events
	}
	s.mu.Unlock()
	if len(head) == 0 {
		return false
	}

	events := make([]pipeline.Event, 0, n)
	var good []segment
	for _, g := range head {
		evs, err := s.readSegment(g)
		if err != nil {
			// Written, fsynced and renamed, yet unreadable: keep it aside
			// for a human rather than block the spool forever.
			s.log.Error("spool segment unreadable, moved aside", "segment", g.name(), "err", err)
			s.quarantine(g)
			continue
		}
		events = append(events, evs...)
		good = append(good, g)
	}
	if len(good) == 0 {
		return true
	}

	if !s.deliver(ctx, events) {
		return false // ctx ended
	}
	s.remove(good)
	return true
}

// deliver publishes events to the next publisher, retrying with
// exponential back-off while it fails, until it acknowledged every one or
// ctx ends (then it returns false). When the next publisher refuses them
// for good (a *collector.PermanentError), the events are split in halves,
// each delivered in turn, so that order is kept and only the single events
// it refuses on their own are moved to the dead-letter file.
func (s *Spool) deliver(ctx context.Context, events []pipeline.Event) bool {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 100 * time.Millisecond
	bo.MaxInterval = s.opts.MaxBackoff
	bo.MaxElapsedTime = 0 // until ctx ends
	attempt := 0
	err := backoff.RetryNotify(func() error {
		attempt++
		pctx, cancel := context.WithTimeout(ctx, s.opts.DrainTimeout)
		defer cancel()
		err := s.next.Publish(pctx, events)
		var perm *collector.PermanentError
		if errors.As(err, &perm) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(bo, ctx), func(err error, wait time.Duration) {
		s.log.Warn("spool drain failed, retrying", "events", len(events), "attempt", attempt, "retry_in", wait, "err", err)
	})
	if err == nil {
		if attempt > 1 {
			s.log.Info("spool drain resumed", "events", len(events), "attempts", attempt)
		}
		return true
	}
	var perm *collector.PermanentError
	if ctx.Err() != nil || !errors.As(err, &perm) {
		return false
	}
	if len(events) == 1 {
		return s.deadLetter(ctx, events[0], err)
	}
	s.log.Warn("spool drain refused for good, splitting", "events", len(events), "err", err)
	h := len(events) / 2
	return s.deliver(ctx, events[:h]) && s.deliver(ctx, events[h:])
}

// deadLetter appends e, with why Kafka refused it, to the dead-letter file
// of the spool directory, fsynced, for a human to look at. It retries a
// failing disk until ctx ends (then it returns false): the event was
// acknowledged to a client, so it is not dropped.
func (s *Spool) deadLetter(ctx context.Context, e pipeline.Event, cause error) bool {
	line, err := json.Marshal(struct {
		FailedAt time.Time      `json:"failed_at"`
		Error    string         `json:"error"`
		Event    pipeline.Event `json:"event"`
	}{time.Now().UTC(), cause.Error(), e})
	if err != nil {
		s.log.Error("encode dead letter", "message_id", e.MessageID, "err", err)
		return false
	}
	line = append(line, '\n')
	err = backoff.Retry(func() error {
		f, err := os.OpenFile(filepath.Join(s.dir, deadName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(line)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.log.Error("write dead letter, retrying", "message_id", e.MessageID, "err", err)
		}
		return err
	}, backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(0), backoff.WithMaxInterval(s.opts.MaxBackoff)), ctx))
	if err != nil {
		return false
	}
	s.deadLetters.Inc()
	s.log.Error("event refused by kafka for good, moved to the dead-letter file",
		"message_id", e.MessageID, "visitor_id", e.VisitorID, "file", filepath.Join(s.dir, deadName), "err", cause)
	return true
}

// remove deletes acknowledged segments, the oldest of the queue.
func (s *Spool) remove(done []segment) {
	for _, g := range done {
		if err := os.Remove(filepath.Join(s.dir, g.name())); err != nil && !os.IsNotExist(err) {
			// Sent again after a restart; consumers deduplicate.
			s.log.Warn("remove drained segment", "segment", g.name(), "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range done {
		s.dropLocked(g)
	}
}

func (s *Spool) quarantine(g segment) {
	p := filepath.Join(s.dir, g.name())
	if err := os.Rename(p, p+badExt); err != nil {
		s.log.Error("move corrupt segment aside", "segment", g.name(), "err", fmt.Errorf("rename: %w", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(g)
}

func (s *Spool) dropLocked(g segment) {
	for i, q := range s.queue {
		if q.seq == g.seq {
			s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
			s.bytes -= q.bytes
			s.events -= q.events
			return
		}
	}
}
