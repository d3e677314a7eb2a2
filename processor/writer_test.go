package processor

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// recordingSink records the events writes; WriteEvents blocks while
// block is set and fails permanently for a write holding the visitor bad.
type recordingSink struct {
	mu     sync.Mutex
	writes []eventsWrite
	block  chan struct{} // closed to let writes go; nil: do not block
	bad    string
}

type eventsWrite struct {
	token    string
	visitors []string
}

type permanent struct{ error }

func (permanent) Permanent() bool { return true }

func (s *recordingSink) WriteEvents(ctx context.Context, events []pipeline.Event, token string) error {
	if s.block != nil {
		<-s.block
	}
	w := eventsWrite{token: token}
	for _, e := range events {
		if e.VisitorID == s.bad {
			return permanent{errors.New("bad row")}
		}
		w.visitors = append(w.visitors, e.VisitorID)
	}
	s.mu.Lock()
	s.writes = append(s.writes, w)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) WriteSessions(context.Context, []pipeline.Session, string) error { return nil }
func (s *recordingSink) WriteStageTransitions(context.Context, []pipeline.StageTransition, string) error {
	return nil
}
func (s *recordingSink) WriteIdentities(context.Context, []pipeline.Identity, string) error {
	return nil
}

func testWriter(t *testing.T, sink Sink) *writer {
	t.Helper()
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	return newWriter(&Processor{sink: sink, log: slog.New(slog.DiscardHandler), m: m})
}

func testBatch(partition int, token string, visitors ...string) *batch {
	b := &batch{partition: partition, token: token}
	for _, v := range visitors {
		b.events = append(b.events, pipeline.Event{VisitorID: v, MessageID: v + "-m"})
	}
	return b
}

func TestMergeToken(t *testing.T) {
	a, b, c := testBatch(0, "t-0-0-5-1", "a"), testBatch(1, "t-1-0-5-1", "b"), testBatch(1, "t-1-0-6-1", "b")
	if m, token := merge([]*batch{a}); m != a || token != a.token {
		t.Errorf("single batch: got token %q, want its own %q", token, a.token)
	}
	m1, t1 := merge([]*batch{a, b})
	m2, t2 := merge([]*batch{b, a})
	if t1 != t2 {
		t.Errorf("token depends on the order of the batches: %q, %q", t1, t2)
	}
	if got := []string{m1.events[0].VisitorID, m2.events[0].VisitorID}; !slices.Equal(got, []string{"a", "a"}) {
		t.Errorf("rows not in partition order: %v", got)
	}
	if _, t3 := merge([]*batch{a, c}); t3 == t1 {
		t.Errorf("other offsets, same token %q", t3)
	}
}

// TestWriterGroupCommit checks that batches flushed while a write is under
// way go out together in the next write, and that each caller returns only
// after the write holding its rows.
func TestWriterGroupCommit(t *testing.T) {
	sink := &recordingSink{block: make(chan struct{})}
	w := testWriter(t, sink)
	ctx := t.Context()
	done := make(chan error, 4)
	go func() { done <- w.write(ctx, testBatch(0, "p0", "v0")) }()
	// Wait until the first write is under way, then queue three more.
	for {
		w.mu.Lock()
		busy := w.busy
		w.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for p := 1; p <= 3; p++ {
		go func() { done <- w.write(ctx, testBatch(p, "p"+string(rune('0'+p)), "v"+string(rune('0'+p)))) }()
	}
	for {
		w.mu.Lock()
		n := len(w.queue)
		w.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("a write returned before the sink took it: %v", err)
	default:
	}
	close(sink.block)
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if len(sink.writes) != 2 {
		t.Fatalf("got %d writes, want 2: %+v", len(sink.writes), sink.writes)
	}
	if got, want := sink.writes[1].visitors, []string{"v1", "v2", "v3"}; !slices.Equal(got, want) {
		t.Errorf("second write holds %v, want %v", got, want)
	}
}

// TestWriterPermanentErrorStaysWithItsBatch checks that a batch failing
// permanently in a merged write fails alone: the others are written.
func TestWriterPermanentErrorStaysWithItsBatch(t *testing.T) {
	sink := &recordingSink{bad: "bad"}
	w := testWriter(t, sink)
	errs := w.writeRequests(t.Context(), []*request{
		{b: testBatch(0, "p0", "v0")}, {b: testBatch(1, "p1", "bad")}, {b: testBatch(2, "p2", "v2")},
	})
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("got errors %v, want only the second batch's", errs)
	}
	var tokens []string
	for _, wr := range sink.writes {
		tokens = append(tokens, wr.token)
	}
	if want := []string{"p0-e", "p2-e"}; !slices.Equal(tokens, want) {
		t.Errorf("writes %v, want %v", tokens, want)
	}
}

// downSink fails every events write as a ClickHouse that is down would
// (a transient error), counting the attempts.
type downSink struct {
	recordingSink
	attempts atomic.Int64
}

func (s *downSink) WriteEvents(ctx context.Context, _ []pipeline.Event, _ string) error {
	s.attempts.Add(1)
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("dial tcp 127.0.0.1:8123: connect: connection refused")
}

// TestWriterGivesUpAtHardStop checks that a write failing transiently is
// retried, whatever the caller's context, until the processor's hard
// context ends (ShutdownTimeout after Run's), and is then given up: it
// fails, so its partition does not commit, and Run will report it.
func TestWriterGivesUpAtHardStop(t *testing.T) {
	sink := &downSink{}
	w := testWriter(t, sink)
	hard, stop := context.WithCancel(t.Context())
	w.p.hard = hard
	caller, cancelCaller := context.WithCancel(t.Context())
	cancelCaller() // the partition was revoked or the process is stopping
	done := make(chan error, 1)
	go func() { done <- w.write(caller, testBatch(0, "p0", "v0")) }()
	select {
	case err := <-done:
		t.Fatalf("write returned %v before the hard stop", err)
	case <-time.After(1500 * time.Millisecond):
	}
	if n := sink.attempts.Load(); n < 2 {
		t.Errorf("%d attempts before the hard stop, want retries", n)
	}
	if w.p.abandoned.Load() {
		t.Error("abandoned before the hard stop")
	}
	stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("write succeeded with ClickHouse down")
		}
		t.Logf("given up after %d attempts: %v", sink.attempts.Load(), err)
	case <-time.After(2 * time.Second):
		t.Fatal("write still retrying 2s after the hard stop")
	}
	if !w.p.abandoned.Load() {
		t.Error("the write given up was not recorded for Run")
	}
	// A write arriving after the hard stop fails at once too.
	if err := w.write(t.Context(), testBatch(1, "p1", "v1")); err == nil {
		t.Error("a write after the hard stop succeeded")
	}
}
