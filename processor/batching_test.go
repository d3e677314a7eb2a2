package processor_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
)

// tableSink keeps what a ReplacingMergeTree read with FINAL would: the
// last row written per key, sessions by version without tombstones.
type tableSink struct {
	mu          sync.Mutex
	events      map[string]pipeline.Event
	sessions    map[string]pipeline.Session
	transitions map[string]pipeline.StageTransition
}

func newTableSink() *tableSink {
	return &tableSink{events: map[string]pipeline.Event{}, sessions: map[string]pipeline.Session{}, transitions: map[string]pipeline.StageTransition{}}
}

func (s *tableSink) WriteEvents(_ context.Context, es []pipeline.Event, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		s.events[e.VisitorID+"/"+e.MessageID] = e
	}
	return nil
}

func (s *tableSink) WriteSessions(_ context.Context, ss []pipeline.Session, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range ss {
		k := x.VisitorID + "/" + x.SessionID
		if old, ok := s.sessions[k]; !ok || x.Version > old.Version {
			s.sessions[k] = x
		}
	}
	return nil
}

func (s *tableSink) WriteStageTransitions(_ context.Context, ts []pipeline.StageTransition, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tr := range ts {
		s.transitions[tr.VisitorID+"/"+tr.MessageID] = tr
	}
	return nil
}

func (s *tableSink) WriteIdentities(context.Context, []pipeline.Identity, string) error { return nil }

// rows renders the tables, sorted, without the fields that name the write
// (versions).
func (s *tableSink) rows() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, e := range s.events {
		out = append(out, fmt.Sprintf("event %s session=%q stage=%q", k, e.SessionID, e.Stage))
	}
	for k, x := range s.sessions {
		if x.Deleted {
			continue
		}
		out = append(out, fmt.Sprintf("session %s start=%s end=%s events=%d", k, x.Start.Format(time.RFC3339), x.End.Format(time.RFC3339), x.Events))
	}
	for k, tr := range s.transitions {
		out = append(out, fmt.Sprintf("transition %s %s->%s session=%q", k, tr.FromStage, tr.ToStage, tr.SessionID))
	}
	slices.Sort(out)
	return out
}

// consumed returns the events a processor's registry counts as consumed.
func consumed(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "touchstream_processor_events_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestBatchBoundariesDoNotMatter runs two processors over the same topic,
// one writing every event on its own, one writing everything in one
// final batch, and checks that they write the same rows. With a lateness
// allowance of an hour the topic has a visitor whose first session is
// pruned as final by a later event of the same batch, one that returns
// after being idle past the allowance (its purchase forgotten), and one
// idle past the allowance that returns within the session gap. Where
// batches are cut is what a replay after a crash changes (issue 5).
func TestBatchBoundariesDoNotMatter(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	n := 0
	ev := func(visitor, typ, name string, at time.Duration) pipeline.Event {
		n++
		e := pipeline.Event{MessageID: fmt.Sprintf("m%02d", n), Type: typ, EventName: name, VisitorID: visitor,
			EventTime: t0.Add(at), ReceivedAt: t0, Touchpoint: pipeline.TouchpointWeb}
		if typ == pipeline.TypePage {
			e.PagePath = "/p"
		}
		return e
	}
	const page, track = pipeline.TypePage, pipeline.TypeTrack
	events := []pipeline.Event{
		ev("v1", page, "Home", 0),
		ev("v1", page, "Home", 5*time.Minute),
		ev("v2", track, pipeline.EventOrderCompleted, 6*time.Minute),
		ev("v3", page, "Home", 10*time.Minute),
		ev("w", page, "Home", 75*time.Minute), // v2, v3 idle past the allowance
		ev("v3", page, "Home", 20*time.Minute),
		ev("v2", page, "Home", 76*time.Minute),
		ev("v1", page, "Home", 3*time.Hour), // prunes v1's first session
		ev("v1", page, "Home", 3*time.Hour+time.Minute),
	}
	pub := kafka.NewPublisher([]string{addr}, nil)
	if err := pub.Publish(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	pub.Close()

	run := func(group string, batch int, every time.Duration) []string {
		sink := newTableSink()
		cfg := processor.DefaultConfig()
		cfg.Brokers = []string{addr}
		cfg.GroupID = group
		cfg.BatchSize = batch
		cfg.FlushInterval = every
		cfg.Session.Allowance = time.Hour
		cfg.Logger = slog.New(slog.DiscardHandler)
		reg := prometheus.NewRegistry()
		p, err := processor.New(cfg, sink, reg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		deadline := time.Now().Add(20 * time.Second)
		for consumed(t, reg) < float64(len(events)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v of %d events consumed after 20s", group, consumed(t, reg), len(events))
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel() // the last batch goes out at the final flush
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", group, err)
		}
		return sink.rows()
	}
	each := run("each", 1, 10*time.Millisecond)
	once := run("once", 100000, time.Hour)
	if !slices.Equal(each, once) {
		t.Errorf("rows differ\nevent by event:\n%s\none batch:\n%s", lines(each), lines(once))
	}
	t.Logf("%d rows, equal", len(each))
	for _, r := range once {
		if strings.HasPrefix(r, "event ") && strings.Contains(r, `session=""`) {
			t.Errorf("event written without its session (pruned before the flush?): %s", r)
		}
	}
}

func lines(rs []string) string {
	var b []byte
	for _, r := range rs {
		b = append(b, "  "+r+"\n"...)
	}
	return string(b)
}
