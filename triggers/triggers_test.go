package triggers

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func add(id, visitor, cartID string, h float64, props string) pipeline.Event {
	return pipeline.Event{MessageID: id, Type: pipeline.TypeTrack, EventName: pipeline.EventProductAdded, VisitorID: visitor, CartID: cartID, EventTime: at(h), Properties: json.RawMessage(props)}
}

func orderEv(id, visitor string, h float64) pipeline.Event {
	return pipeline.Event{MessageID: id, Type: pipeline.TypeTrack, EventName: pipeline.EventOrderCompleted, VisitorID: visitor, OrderID: "o-" + id, EventTime: at(h), Revenue: 10}
}

func page(id, visitor string, h float64) pipeline.Event {
	return pipeline.Event{MessageID: id, Type: pipeline.TypePage, VisitorID: visitor, EventTime: at(h)}
}

// run feeds events in order with the watermark as the processor keeps it.
func run(g *Engine, sid string, evs ...pipeline.Event) []pipeline.Trigger {
	var out []pipeline.Trigger
	var wm time.Time
	for i := range evs {
		if evs[i].EventTime.After(wm) {
			wm = evs[i].EventTime
		}
		out = append(out, g.Event(&evs[i], sid, wm)...)
	}
	return out
}

func kinds(ts []pipeline.Trigger) []string {
	var k []string
	for _, t := range ts {
		k = append(k, t.Kind)
	}
	return k
}

func TestAbandoned(t *testing.T) {
	g := New(0)
	ts := run(g, "s1",
		add("1", "v", "", 0, `{"product_id":"p1","price":10,"quantity":2}`),
		add("2", "v", "", 1, `{"product_id":"p2","price":5}`),
		page("3", "w", 23.9), // watermark not yet past T
	)
	if len(ts) != 0 {
		t.Fatalf("before T: %v", kinds(ts))
	}
	ts = run(g, "", page("4", "w", 24.1))
	if len(ts) != 1 || ts[0].Kind != pipeline.TriggerCartAbandoned {
		t.Fatalf("got %v", kinds(ts))
	}
	tr := ts[0]
	if tr.Value != 25 || len(tr.Items) != 2 || tr.Items[0] != "p1" || tr.CartKey != "session:s1" || !tr.StartedAt.Equal(t0) || tr.MessageID != ID(pipeline.TriggerCartAbandoned, "v", "session:s1") {
		t.Fatalf("trigger %+v", tr)
	}
	if ts := run(g, "", page("5", "w", 50)); len(ts) != 0 {
		t.Fatalf("emitted again: %v", kinds(ts))
	}
}

func TestConvertedWithinT(t *testing.T) {
	g := New(0)
	ts := run(g, "s", add("1", "v", "c1", 0, `{"product_id":"p1","price":10}`), orderEv("2", "v", 20), page("3", "w", 100))
	if len(ts) != 0 {
		t.Fatalf("got %v", kinds(ts))
	}
}

func TestRecoveredAfterT(t *testing.T) {
	g := New(0)
	ts := run(g, "s", add("1", "v", "c1", 0, `{"product_id":"p1","price":10}`), page("2", "w", 25), orderEv("3", "v", 26), orderEv("4", "v", 27))
	if got := kinds(ts); len(got) != 2 || got[0] != pipeline.TriggerCartAbandoned || got[1] != pipeline.TriggerCartRecovered {
		t.Fatalf("got %v", got)
	}
	if ts[1].OrderID != "o-3" || ts[1].MessageID != ID(pipeline.TriggerCartRecovered, "v", "c1") || ts[1].CartID != "c1" {
		t.Fatalf("recovered %+v", ts[1])
	}
	// An order after T that is itself what moves the watermark: abandoned, then recovered.
	g = New(0)
	ts = run(g, "s", add("1", "v", "c1", 0, `{}`), orderEv("2", "v", 30))
	if got := kinds(ts); len(got) != 2 || got[1] != pipeline.TriggerCartRecovered {
		t.Fatalf("got %v", got)
	}
}

func TestCheckout(t *testing.T) {
	g := New(time.Hour)
	co := pipeline.Event{MessageID: "1", Type: pipeline.TypeTrack, EventName: pipeline.EventCheckoutStarted, VisitorID: "v", UserID: "u", CartID: "c9", EventTime: at(0), Revenue: 42,
		Properties: json.RawMessage(`{"products":[{"product_id":"a"},{"sku":"b"}]}`)}
	ts := run(g, "", co, page("2", "w", 2))
	if len(ts) != 1 || ts[0].Kind != pipeline.TriggerCheckoutAbandoned || ts[0].Value != 42 || ts[0].UserID != "u" || len(ts[0].Items) != 2 {
		t.Fatalf("got %+v", ts)
	}
	ts = run(g, "", orderEv("3", "v", 3))
	if len(ts) != 1 || ts[0].Kind != pipeline.TriggerCheckoutRecovered {
		t.Fatalf("got %v", kinds(ts))
	}
}

func TestDuplicates(t *testing.T) {
	g := New(0)
	a := add("1", "v", "c1", 0, `{"product_id":"p1","price":10}`)
	ts := run(g, "", a, a, add("2", "v", "c1", 1, `{"product_id":"p1","price":10}`), a, page("3", "w", 30), a, page("4", "w", 60))
	if len(ts) != 1 || ts[0].Value != 20 {
		t.Fatalf("got %+v", ts)
	}
	o := orderEv("5", "v", 61)
	if ts := run(g, "", o, o); len(ts) != 1 || ts[0].Kind != pipeline.TriggerCartRecovered {
		t.Fatalf("got %v", kinds(ts))
	}
}

func TestOutOfOrder(t *testing.T) {
	// The order arrives before the Product Added it converts.
	g := New(0)
	if ts := run(g, "", orderEv("2", "v", 5), add("1", "v", "c1", 1, `{}`), page("3", "w", 100)); len(ts) != 0 {
		t.Fatalf("got %v", kinds(ts))
	}
	// An order before the cart does not convert it.
	g = New(0)
	if ts := run(g, "", orderEv("2", "v", 0), add("1", "v", "c1", 1, `{}`), page("3", "w", 100)); len(ts) != 1 {
		t.Fatalf("got %v", kinds(ts))
	}
}

func TestDeterministic(t *testing.T) {
	evs := []pipeline.Event{
		add("1", "v1", "", 0, `{"product_id":"p","price":1}`), add("2", "v2", "c2", 0, `{}`), add("3", "v3", "c3", 0, `{}`),
		orderEv("4", "v2", 1), page("5", "w", 30), orderEv("6", "v3", 31),
	}
	a, b := run(New(0), "s", evs...), run(New(0), "s", evs...)
	if len(a) != 3 || len(a) != len(b) {
		t.Fatalf("got %v and %v", kinds(a), kinds(b))
	}
	for i := range a {
		if a[i].MessageID != b[i].MessageID || a[i].Kind != b[i].Kind {
			t.Fatalf("%d: %+v vs %+v", i, a[i], b[i])
		}
	}
	if ID("a", "b", "c") == ID("a", "bc", "") {
		t.Fatal("ids collide across field boundaries")
	}
	// Stage Changed: one id per transition event.
	tr := pipeline.StageTransition{VisitorID: "v", FromStage: "awareness", ToStage: "purchase", MessageID: "m1", EventTime: t0}
	if s := StageChanged(tr); s.MessageID != StageChanged(tr).MessageID || s.Kind != pipeline.TriggerStageChanged || s.ToStage != "purchase" {
		t.Fatalf("stage %+v", s)
	}
}

func TestRetain(t *testing.T) {
	g := New(0)
	run(g, "", add("1", "v", "c", 0, `{}`), add("2", "x", "c", 0, `{}`))
	g.Retain(func(v string) bool { return v == "x" })
	if ts := run(g, "", page("3", "w", 30)); len(ts) != 1 || ts[0].VisitorID != "x" || g.Visitors() != 1 {
		t.Fatalf("got %+v", ts)
	}
}

// TestForget checks that a forgotten visitor's pending cart leaves the
// deadlines (no abandonment for it), its abandoned cart cannot be recovered
// any more, and the other visitors are untouched.
func TestForget(t *testing.T) {
	g := New(time.Hour)
	if ts := run(g, "", add("1", "v", "c1", 0, `{}`), add("2", "x", "c2", 0.5, `{}`), add("3", "y", "c3", 0.1, `{}`), page("4", "w", 1.05)); len(ts) != 1 || ts[0].VisitorID != "v" {
		t.Fatalf("v's cart only should be abandoned: %+v", ts)
	}
	g.Forget("v") // abandoned
	g.Forget("x") // pending
	g.Forget("nobody")
	if g.Visitors() != 1 {
		t.Fatalf("visitors: %d, want 1 (y)", g.Visitors())
	}
	ts := run(g, "", page("5", "w", 2), orderEv("6", "v", 2.1))
	if len(ts) != 1 || ts[0].VisitorID != "y" || ts[0].Kind != pipeline.TriggerCartAbandoned {
		t.Fatalf("only y's cart should be abandoned, and v's order recover nothing: %+v", ts)
	}
}
