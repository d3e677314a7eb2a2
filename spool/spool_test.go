package spool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/spool"
)

var errDown = errors.New("kafka down")

// fakePublisher records what it acknowledged, in order; while down it fails.
type fakePublisher struct {
	mu     sync.Mutex
	down   bool
	refuse map[string]bool // message ids refused for good, with their whole batch
	failN  int             // the next failN calls fail (retryable)
	got    []pipeline.Event
	calls  int
}

func (f *fakePublisher) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakePublisher) Publish(ctx context.Context, events []pipeline.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return errDown
	}
	if f.failN > 0 {
		f.failN--
		return errDown
	}
	for _, e := range events {
		if f.refuse[e.MessageID] {
			return fmt.Errorf("publish: %w", &collector.PermanentError{Err: errors.New("message too large")})
		}
	}
	f.got = append(f.got, events...)
	return nil
}

func (f *fakePublisher) Reject(context.Context, []pipeline.Rejected) error { return nil }
func (f *fakePublisher) Ready(context.Context) error                       { return nil }

func (f *fakePublisher) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.got))
	for i, e := range f.got {
		out[i] = e.MessageID
	}
	return out
}

// batch returns n events of visitor v, message ids v-from .. v-(from+n-1).
func batch(v string, from, n int) []pipeline.Event {
	out := make([]pipeline.Event, n)
	for i := range out {
		out[i] = pipeline.Event{
			MessageID: fmt.Sprintf("%s-%03d", v, from+i),
			VisitorID: v,
			Type:      "track",
			EventName: "E",
			EventTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		}
	}
	return out
}

func ids(events []pipeline.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.MessageID
	}
	return out
}

func newSpool(t *testing.T, dir string, next *fakePublisher, opts spool.Options) *spool.Spool {
	t.Helper()
	opts.DirectTimeout = 200 * time.Millisecond
	opts.MaxBackoff = 50 * time.Millisecond
	s, err := spool.New(dir, next, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t *testing.T, s *spool.Spool) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitEmpty(t *testing.T, s *spool.Spool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Segments > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %+v", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d: got %s, want %s\ngot  %v\nwant %v", i, got[i], want[i], got, want)
		}
	}
}

func TestDirectWhenHealthy(t *testing.T) {
	f := &fakePublisher{}
	s := newSpool(t, t.TempDir(), f, spool.Options{})
	if err := s.Publish(t.Context(), batch("a", 0, 3)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Segments != 0 {
		t.Errorf("spooled with the next publisher up: %+v", st)
	}
	equal(t, f.ids(), []string{"a-000", "a-001", "a-002"})
}

func TestOutageThenDrain(t *testing.T) {
	f := &fakePublisher{}
	s := newSpool(t, t.TempDir(), f, spool.Options{DrainBatch: 5})
	run(t, s)
	var want []string
	publish := func(evs []pipeline.Event) {
		t.Helper()
		if err := s.Publish(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		want = append(want, ids(evs)...)
	}
	publish(batch("a", 0, 2)) // direct
	f.setDown(true)
	for i := range 10 {
		publish(batch("a", 2+3*i, 3))
		publish(batch("b", 3*i, 3))
	}
	if st := s.Stats(); st.Events != 60 || st.Segments != 20 {
		t.Errorf("during the outage: %+v, want 60 events in 20 segments", st)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready during the outage: %v", err)
	}
	f.setDown(false)
	// Published while the spool drains: queued behind, not overtaking.
	publish(batch("a", 100, 2))
	waitEmpty(t, s)
	publish(batch("b", 100, 1)) // direct again
	if st := s.Stats(); st.Segments != 0 {
		t.Errorf("after the drain: %+v", st)
	}
	equal(t, f.ids(), want)
}

func TestFull(t *testing.T) {
	f := &fakePublisher{down: true}
	s := newSpool(t, t.TempDir(), f, spool.Options{MaxBytes: 2000})
	var accepted int
	var err error
	for i := range 100 {
		if err = s.Publish(t.Context(), batch("a", i, 1)); err != nil {
			break
		}
		accepted++
	}
	if !errors.Is(err, spool.ErrFull) {
		t.Fatalf("at the bound: %v, want ErrFull", err)
	}
	if accepted == 0 || accepted == 100 {
		t.Fatalf("accepted %d batches before ErrFull", accepted)
	}
	if st := s.Stats(); st.Bytes > 2000 || st.Events != accepted {
		t.Errorf("stats %+v, accepted %d, bound 2000", st, accepted)
	}
	// A batch bigger than the whole spool never fits.
	if err := s.Publish(t.Context(), batch("b", 0, 100)); !errors.Is(err, spool.ErrFull) {
		t.Errorf("oversized batch: %v", err)
	}
	f.setDown(false)
	run(t, s)
	waitEmpty(t, s)
	if err := s.Publish(t.Context(), batch("a", 500, 1)); err != nil {
		t.Errorf("after the drain: %v", err)
	}
	if got := len(f.ids()); got != accepted+1 {
		t.Errorf("delivered %d, want %d", got, accepted+1)
	}
}

func TestReadyWhenFull(t *testing.T) {
	f := &fakePublisher{down: true}
	s := newSpool(t, t.TempDir(), f, spool.Options{MaxBytes: 1})
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("empty spool: %v", err)
	}
	if err := s.Publish(t.Context(), batch("a", 0, 1)); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("publish: %v", err)
	}
}

func TestResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	f1 := &fakePublisher{down: true}
	s1 := newSpool(t, dir, f1, spool.Options{})
	var want []string
	for i := range 5 {
		for _, v := range []string{"a", "b"} {
			evs := batch(v, 2*i, 2)
			if err := s1.Publish(t.Context(), evs); err != nil {
				t.Fatal(err)
			}
			want = append(want, ids(evs)...)
		}
	}
	// An append cut short by a crash: never acknowledged, dropped on start.
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000099-1.seg.tmp"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	f2 := &fakePublisher{}
	s2 := newSpool(t, dir, f2, spool.Options{})
	if st := s2.Stats(); st.Segments != 10 || st.Events != 20 {
		t.Fatalf("resumed %+v, want 20 events in 10 segments", st)
	}
	// A new batch waits behind the resumed ones.
	if err := s2.Publish(t.Context(), batch("a", 50, 1)); err != nil {
		t.Fatal(err)
	}
	want = append(want, "a-050")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s2.Run(ctx); close(done) }()
	waitEmpty(t, s2)
	cancel()
	<-done
	equal(t, f2.ids(), want)
	s2.Close()

	// A clean restart sends nothing acknowledged again.
	f3 := &fakePublisher{}
	s3 := newSpool(t, dir, f3, spool.Options{})
	if st := s3.Stats(); st.Segments != 0 {
		t.Errorf("after a clean restart: %+v", st)
	}
	run(t, s3)
	time.Sleep(50 * time.Millisecond)
	if len(f3.ids()) != 0 {
		t.Errorf("resent after a clean restart: %v", f3.ids())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "spool.lock" {
		t.Errorf("files left in the spool dir: %v", entries)
	}
}

func TestCorruptSegmentMovedAside(t *testing.T) {
	dir := t.TempDir()
	f := &fakePublisher{down: true}
	s1 := newSpool(t, dir, f, spool.Options{})
	for i := range 3 {
		if err := s1.Publish(t.Context(), batch("a", i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000001-1.seg"), []byte("not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.setDown(false)
	s1.Close()
	s2 := newSpool(t, dir, f, spool.Options{})
	run(t, s2)
	waitEmpty(t, s2)
	equal(t, f.ids(), []string{"a-000", "a-002"})
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000001-1.seg.corrupt")); err != nil {
		t.Errorf("corrupt segment not kept aside: %v", err)
	}
}
