package processor_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
)

// TestIdlePartitionFiresTriggers checks Config.IdleAdvance on the embedded
// Kafka: a partition that has read everything and then hears nothing
// abandons the carts whose window ended by wall time (minus IdleAdvance);
// an order that comes afterwards recovers the cart. With IdleAdvance 0 the
// same topic fires nothing: no event's time passes the deadline. (That
// only due carts are abandoned is the engine's Advance, tested in package
// triggers.)
func TestIdlePartitionFiresTriggers(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := func(id, visitor, name, cart string, at time.Time) pipeline.Event {
		return pipeline.Event{MessageID: id, Type: pipeline.TypeTrack, EventName: name, VisitorID: visitor,
			CartID: cart, EventTime: at, ReceivedAt: at, Touchpoint: pipeline.TouchpointWeb,
			Properties: json.RawMessage(`{"product_id":"p1","price":3}`)}
	}
	publish := func(es ...pipeline.Event) {
		t.Helper()
		pub := kafka.NewPublisher([]string{addr}, nil)
		defer pub.Close()
		if err := pub.Publish(t.Context(), es); err != nil {
			t.Fatal(err)
		}
	}
	// c1's window (1 h) ended an hour ago; the newest event time is 10
	// minutes into it.
	publish(
		ev("m1", "v1", pipeline.EventProductAdded, "c1", now.Add(-2*time.Hour)),
		ev("m2", "v2", "Product Viewed", "", now.Add(-110*time.Minute)),
	)
	start := func(group string, idle time.Duration) (*fakeTriggers, func()) {
		sink := &fakeTriggers{}
		cfg := processor.DefaultConfig()
		cfg.Brokers = []string{addr}
		cfg.GroupID = group
		cfg.FlushInterval = 50 * time.Millisecond
		cfg.TriggerWindow = time.Hour
		cfg.IdleAdvance = idle
		cfg.Triggers = sink
		cfg.Logger = slog.New(slog.DiscardHandler)
		p, err := processor.New(cfg, nopSink{}, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return sink, func() { cancel(); <-done }
	}
	cartTriggers := func(s *fakeTriggers) []string {
		var out []string
		for _, tr := range s.snapshot() {
			if tr.Kind != pipeline.TriggerStageChanged {
				out = append(out, tr.Kind+" "+tr.CartID)
			}
		}
		return out
	}
	waitFor := func(s *fakeTriggers, n int) []string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for len(cartTriggers(s)) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // let a stray extra trigger show
		return cartTriggers(s)
	}

	off, stopOff := start("idle-off", 0)
	on, stopOn := start("idle-on", 200*time.Millisecond)
	if got := waitFor(on, 1); len(got) != 1 || got[0] != pipeline.TriggerCartAbandoned+" c1" {
		t.Fatalf("idle advance: cart triggers %q, want only %q", got, pipeline.TriggerCartAbandoned+" c1")
	}
	// The order happened before c1's deadline, but came after c1 was
	// abandoned by wall time: it recovers it. (For the processor without
	// idle advance it is a conversion within the window: nothing.)
	publish(ev("m3", "v1", pipeline.EventOrderCompleted, "", now.Add(-100*time.Minute)))
	want := []string{pipeline.TriggerCartAbandoned + " c1", pipeline.TriggerCartRecovered + " c1"}
	if got := waitFor(on, 2); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("after the order: cart triggers %q, want %q", got, want)
	}
	stopOn()
	stopOff()
	if got := cartTriggers(off); len(got) != 0 {
		t.Errorf("without idle advance: cart triggers %q, want none (no event passed a deadline)", got)
	}
}
