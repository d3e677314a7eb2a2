package processor

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/pipeline"
)

// testPartition returns a partition of a processor with triggers (window
// 1 h, allowance 2 h) that is fed with add, without Kafka.
func testPartition(t *testing.T) *partition {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Session.Allowance = 2 * time.Hour
	cfg.TriggerWindow = time.Hour
	cfg.Triggers = discardTriggers{}
	p, err := New(cfg, &recordingSink{}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return p.newPartition(nil, 0, 1<<20, 0)
}

type discardTriggers struct{}

func (discardTriggers) PublishTriggers(context.Context, []pipeline.Trigger) error { return nil }

// TestTriggerStateForgotten feeds a partition event by event, without a
// flush, and checks the trigger state: an order arriving out of order but
// within the allowance still finds its visitor's abandoned cart (and
// recovers it); once the visitor has been idle for longer than the
// allowance, its state is dropped before the next stale visitor's event is
// taken, as the sessionizer's and the journeys' are, and its next order
// recovers nothing.
func TestTriggerStateForgotten(t *testing.T) {
	pt := testPartition(t)
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var offset int64
	add := func(visitor, name, cart string, min int) []pipeline.Trigger {
		t.Helper()
		e := pipeline.Event{MessageID: "m" + strconv.FormatInt(offset, 10), Type: pipeline.TypeTrack, EventName: name, VisitorID: visitor,
			CartID: cart, EventTime: t0.Add(time.Duration(min) * time.Minute), Touchpoint: pipeline.TouchpointWeb}
		if name == "" {
			e.Type, e.PagePath = pipeline.TypePage, "/x"
		}
		b, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		pt.add(kafkago.Message{Offset: offset, Value: b})
		offset++
		out := pt.batchTriggers()
		pt.flushedTriggers() // what add made, without a flush's expiry
		var carts []pipeline.Trigger
		for _, tr := range out {
			if tr.Kind != pipeline.TriggerStageChanged {
				carts = append(carts, tr)
			}
		}
		return carts
	}
	kinds := func(ts []pipeline.Trigger) []string {
		var k []string
		for _, tr := range ts {
			k = append(k, tr.Kind+" "+tr.VisitorID)
		}
		return k
	}
	check := func(step string, got []pipeline.Trigger, want []string, visitors int) {
		t.Helper()
		if g := kinds(got); !slices.Equal(g, want) {
			t.Errorf("%s: triggers %q, want %q", step, g, want)
		}
		if n := pt.trig.eng.Visitors(); n != visitors {
			t.Errorf("%s: the engine holds %d visitors, want %d", step, n, visitors)
		}
	}
	check("v adds to cart c1 at 0", add("v", pipeline.EventProductAdded, "c1", 0), nil, 1)
	check("u adds to cart c2 at 10", add("u", pipeline.EventProductAdded, "c2", 10), nil, 2)
	check("w at 75: both windows over", add("w", "", "", 75), []string{"Cart Abandoned v", "Cart Abandoned u"}, 2)
	check("w at 119", add("w", "", "", 119), nil, 2)
	// v orders at 65: 54 minutes older than the watermark, within the
	// allowance (119 - 120 = -1 <= 0, v's last event), so v's cart is
	// still there to recover.
	check("v orders at 65, out of order", add("v", pipeline.EventOrderCompleted, "", 65), []string{"Cart Recovered v"}, 2)
	// Watermark 180, cutoff 60: u (last 10) is idle past the allowance,
	// v (last 65) is not. Nothing has expired u yet (no flush)...
	check("w at 180", add("w", "", "", 180), nil, 2)
	// ... until u's next event: u is forgotten before it is taken (a page
	// makes no trigger state), so u's order then recovers nothing.
	check("u views a page at 181", add("u", "", "", 181), nil, 1)
	check("u orders at 182", add("u", pipeline.EventOrderCompleted, "", 182), nil, 2)
	// Watermark 190, cutoff 70: v (last 65) is idle past the allowance; a
	// flush's expiry drops it.
	check("w at 190", add("w", "", "", 190), nil, 2)
	pt.expire()
	if n := pt.trig.eng.Visitors(); n != 1 || pt.stages["v"] != nil {
		t.Errorf("after the flush's expiry: the engine holds %d visitors, want 1 (u); v's journey %v", n, pt.stages["v"])
	}
}
