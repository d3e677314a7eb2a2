package spool

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cenkalti/backoff/v4"

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

	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 100 * time.Millisecond
	bo.MaxInterval = s.opts.MaxBackoff
	bo.MaxElapsedTime = 0 // until ctx ends
	attempt := 0
	err := backoff.RetryNotify(func() error {
		attempt++
		pctx, cancel := context.WithTimeout(ctx, s.opts.DrainTimeout)
		defer cancel()
		return s.next.Publish(pctx, events)
	}, backoff.WithContext(bo, ctx), func(err error, wait time.Duration) {
		s.log.Warn("spool drain failed, retrying", "events", len(events), "attempt", attempt, "retry_in", wait, "err", err)
	})
	if err != nil {
		return false // ctx ended
	}
	if attempt > 1 {
		s.log.Info("spool drain resumed", "events", len(events), "attempts", attempt)
	}
	s.remove(good)
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
