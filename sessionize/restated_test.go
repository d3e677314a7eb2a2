package sessionize

import (
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// TestRestatedCountsOutOfOrderSessions checks Stats.Restated, behind the
// processor's restated-sessions metric: in-order events and a visitor's
// first event restate nothing; an out-of-order event counts every session
// it made Add return again (a merge of two sessions: the merged one and
// the tombstone of the other); duplicates and late events count nothing.
func TestRestatedCountsOutOfOrderSessions(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	s := New(DefaultConfig())
	n := 0
	add := func(visitor, id string, at time.Duration) []pipeline.Session {
		n++
		return s.Add(pipeline.Event{MessageID: id, VisitorID: visitor, Type: pipeline.TypePage,
			EventTime: t0.Add(at), ReceivedAt: t0}, time.Unix(0, int64(n)))
	}
	step := func(name string, out []pipeline.Session, want uint64) {
		t.Helper()
		if got := s.Stats().Restated; got != want {
			t.Errorf("%s: Restated = %d, want %d (Add returned %d sessions)", name, got, want, len(out))
		}
	}
	step("first event of a visitor", add("v1", "a", 0), 0)
	step("in order, same session", add("v1", "b", 10*time.Minute), 0)
	step("in order, new session after the gap", add("v1", "c", 2*time.Hour), 0)
	out := add("v1", "d", 5*time.Minute)
	if len(out) != 1 {
		t.Fatalf("out of order within the first session: Add returned %d sessions, want 1", len(out))
	}
	step("out of order within a session", out, 1)
	out = add("v1", "e", 70*time.Minute) // 60m after b, 50m before c: a session of its own
	if len(out) != 1 {
		t.Fatalf("out of order between two sessions: Add returned %d sessions, want 1", len(out))
	}
	step("out of order, a session of its own between two", out, 2)
	before := s.Stats().Restated
	out = add("v1", "f", 95*time.Minute) // 25m after e and 25m before c: merges e's and c's sessions
	if len(out) != 2 {
		t.Fatalf("merging event: Add returned %d sessions, want 2 (the merged session and a tombstone)", len(out))
	}
	step("out of order, merging two sessions", out, before+2)
	before = s.Stats().Restated
	step("duplicate", add("v1", "f", 95*time.Minute), before)
	step("late", add("v1", "g", -48*time.Hour), before)
	step("another visitor's first event", add("v2", "a", 0), before)
}
