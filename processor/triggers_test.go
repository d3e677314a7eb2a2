package processor_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
	"github.com/touchstream/touchstream/triggers"
)

type nopSink struct{}

func (nopSink) WriteEvents(context.Context, []pipeline.Event, string) error { return nil }
func (nopSink) WriteSessions(context.Context, []pipeline.Session, string) error {
	return nil
}
func (nopSink) WriteStageTransitions(context.Context, []pipeline.StageTransition, string) error {
	return nil
}
func (nopSink) WriteIdentities(context.Context, []pipeline.Identity, string) error { return nil }

type fakeTriggers struct {
	mu sync.Mutex
	ts []pipeline.Trigger
}

func (f *fakeTriggers) PublishTriggers(_ context.Context, ts []pipeline.Trigger) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ts = append(f.ts, ts...)
	return nil
}

func (f *fakeTriggers) snapshot() []pipeline.Trigger {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pipeline.Trigger(nil), f.ts...)
}

// TestTriggers runs the processor over a topic with an abandoned cart, a
// converted one and a recovered checkout, and checks what it publishes.
// The lateness allowance is 48 h: c orders 26 h after its last event, and
// with the default 24 h c would have been forgotten by then (its trigger
// state with the rest), so the order would recover nothing.
func TestTriggers(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	n := 0
	ev := func(visitor, name, cart string, h float64, props string) pipeline.Event {
		n++
		return pipeline.Event{MessageID: "m" + string(rune('a'+n)), Type: pipeline.TypeTrack, EventName: name, VisitorID: visitor, UserID: "u-" + visitor,
			CartID: cart, EventTime: t0.Add(time.Duration(h * float64(time.Hour))), ReceivedAt: t0, Touchpoint: pipeline.TouchpointWeb, Properties: json.RawMessage(props)}
	}
	events := []pipeline.Event{
		ev("a", pipeline.EventProductAdded, "", 0, `{"product_id":"p1","price":3,"quantity":2}`),
		ev("b", pipeline.EventProductAdded, "cb", 0, `{"product_id":"p2","price":5}`),
		ev("c", pipeline.EventCheckoutStarted, "cc", 0, `{"products":[{"product_id":"p3","price":7}]}`),
		ev("b", pipeline.EventOrderCompleted, "", 2, `{}`),
		ev("w", "Page Seen", "", 25, `{}`), // moves the watermark past T
		ev("c", pipeline.EventOrderCompleted, "", 26, `{}`),
	}
	events = append(events, events[0]) // a duplicate: no second trigger
	pub := kafka.NewPublisher([]string{addr}, nil)
	if err := pub.Publish(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	pub.Close()

	sink := &fakeTriggers{}
	cfg := processor.DefaultConfig()
	cfg.Brokers = []string{addr}
	cfg.GroupID = "triggers-test"
	cfg.FlushInterval = 100 * time.Millisecond
	cfg.Session.Allowance = 48 * time.Hour
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Triggers = sink
	p, err := processor.New(cfg, nopSink{}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var cart []pipeline.Trigger
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		cart = cart[:0]
		for _, tr := range sink.snapshot() {
			if tr.Kind != pipeline.TriggerStageChanged {
				cart = append(cart, tr)
			}
		}
		if len(cart) >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let a stray extra trigger show
	cancel()
	<-done
	cart = cart[:0]
	stages := 0
	for _, tr := range sink.snapshot() {
		if tr.Kind == pipeline.TriggerStageChanged {
			stages++
			continue
		}
		cart = append(cart, tr)
	}
	if len(cart) != 3 {
		t.Fatalf("cart triggers: %+v", cart)
	}
	want := []struct{ kind, visitor string }{
		{pipeline.TriggerCartAbandoned, "a"}, {pipeline.TriggerCheckoutAbandoned, "c"}, {pipeline.TriggerCheckoutRecovered, "c"},
	}
	for i, w := range want {
		if cart[i].Kind != w.kind || cart[i].VisitorID != w.visitor || cart[i].UserID != "u-"+w.visitor {
			t.Errorf("trigger %d: %+v, want %s of %s", i, cart[i], w.kind, w.visitor)
		}
	}
	a := cart[0]
	if a.Value != 6 || len(a.Items) != 1 || a.Items[0] != "p1" || a.SessionID == "" || a.CartKey != "session:"+a.SessionID || a.MessageID != triggers.ID(a.Kind, "a", a.CartKey) {
		t.Errorf("abandoned cart: %+v", a)
	}
	if cart[1].Value != 7 || cart[2].OrderID != "" && cart[2].SourceMessageID == "" {
		t.Errorf("checkout: %+v %+v", cart[1], cart[2])
	}
	if stages == 0 {
		t.Error("no Stage Changed triggers")
	}
}
