package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
	"github.com/touchstream/touchstream/sessionize"
	"github.com/touchstream/touchstream/triggers"
)

// crashingTriggers publishes to Kafka and, once crash is set, reports every
// publish as failed after it went out: what a processor killed between
// publishing a batch's triggers and committing its offsets leaves behind.
type crashingTriggers struct {
	k       *processor.KafkaTriggers
	crash   atomic.Bool
	crashed atomic.Int64 // publishes that went out and were reported failed
}

func (c *crashingTriggers) PublishTriggers(ctx context.Context, ts []pipeline.Trigger) error {
	if err := c.k.PublishTriggers(ctx, ts); err != nil {
		return err
	}
	if c.crash.Load() {
		c.crashed.Add(1)
		return errors.New("simulated crash after publishing")
	}
	return nil
}

// TestTriggersAfterReplay runs three processors in turn over one
// partition (window T = 1 h, allowance 2 h; times below in minutes):
//
//   - p1 flushes after every event, stops cleanly after offsets 0-10 and
//     commits 0 (visitor b, at offset 0, is still held);
//   - p2 replays from 0 in large batches, reads offsets 11-17 (b and x go
//     idle past the allowance; x comes back and orders), commits 3 (a's
//     first offset), then publishes the triggers of offsets 18-19 but
//     "crashes" before committing them;
//   - p3 replays from 3, flushing after every event, and reads offset 20.
//
// It reads journey.triggers and checks against hand-computed triggers:
// every expected message_id is there, no other one is, and every copy of a
// message_id has the expected content byte for byte (so deduplicating on
// message_id gives exactly one trigger per cart and kind). The ids written
// more than once show the replays republished them.
func TestTriggersAfterReplay(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	ctx := t.Context()
	database := testenv.Database(t, "replaytrig")
	dsn := testenv.ClickHouse(t) + "/" + database
	quiet := slog.New(slog.DiscardHandler)
	if err := clickhouse.Migrate(ctx, dsn, quiet); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open clickhouse: %v", err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database)
		conn.Close()
	})
	sink := clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: database})

	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	msg := func(i int) string { return fmt.Sprintf("rt-%02d", i) }
	var events []pipeline.Event
	ev := func(visitor, name, cart string, min int, props string) {
		e := pipeline.Event{MessageID: msg(len(events)), Type: pipeline.TypeTrack, EventName: name, VisitorID: visitor,
			CartID: cart, EventTime: at(min), ReceivedAt: at(min), Touchpoint: pipeline.TouchpointWeb}
		if props != "" {
			e.Properties = json.RawMessage(props)
		}
		if name == pipeline.EventOrderCompleted {
			e.OrderID, e.Revenue, e.Currency = "o-"+e.MessageID, 9, "EUR"
		}
		events = append(events, e)
	}
	page := func(visitor, path string, min int) {
		events = append(events, pipeline.Event{MessageID: msg(len(events)), Type: pipeline.TypePage, VisitorID: visitor,
			PagePath: path, EventTime: at(min), ReceivedAt: at(min), Touchpoint: pipeline.TouchpointWeb})
	}
	const added, checkout, order = pipeline.EventProductAdded, pipeline.EventCheckoutStarted, pipeline.EventOrderCompleted
	// Offsets 0-10: p1.
	ev("b", added, "cb", 0, `{"product_id":"pb","price":4}`)                                // 0
	ev("x", added, "cx", 10, `{"product_id":"px","price":1}`)                               // 1
	ev("b", order, "", 20, "")                                                              // 2: converts cb
	ev("a", added, "ca", 0, `{"product_id":"pa","price":10}`)                               // 3
	ev("c", checkout, "cc", 5, `{"products":[{"product_id":"pc","price":7,"quantity":2}]}`) // 4
	ev("d", added, "", 30, `{"product_id":"pd1","price":2}`)                                // 5: a session cart
	page("s", "/products/p", 50)                                                            // 6: "" -> evaluation
	page("s", "/products/p", 45)                                                            // 7: out of order: s's session now starts at 45
	page("w", "/x", 70)                                                                     // 8: watermark 70: ca (60), cc (65) abandoned; cx (70) not yet
	ev("c", order, "", 75, "")                                                              // 9: cx abandoned, then cc recovered
	ev("e", added, "ce", 80, `{"product_id":"pe","price":3}`)                               // 10
	// Offsets 11-17: p2.
	ev("d", added, "", 40, `{"product_id":"pd2","price":5}`) // 11: same session cart
	page("w", "/x", 95)                                      // 12: d's cart (90) abandoned
	ev("a", order, "", 100, "")                              // 13: ca recovered
	ev("e", order, "", 130, "")                              // 14: converts ce
	page("w", "/x", 135)                                     // 15: x (last 10) now idle past the allowance
	page("x", "/x", 140)                                     // 16: x is forgotten before this event
	ev("x", order, "", 141, "")                              // 17: recovers nothing (cx is forgotten)
	// Offsets 18-19: published by p2, not committed.
	ev("c", added, "cc2", 150, `{"product_id":"pc2","price":6}`) // 18
	page("w", "/x", 215)                                         // 19: cc2 (210) abandoned
	// Offset 20: p3.
	ev("c", order, "", 220, "") // 20: cc2 recovered; c's stage purchase -> return

	window := time.Hour
	sid := sessionize.SessionID
	cart := func(kind, visitor, cartID, session string, start, deadline int, value float64, items []string, source int) pipeline.Trigger {
		// The session is filled only for a cart keyed by its session.
		key := cartID
		if key == "" {
			key = "session:" + session
		} else {
			session = ""
		}
		return pipeline.Trigger{MessageID: triggers.ID(kind, visitor, key), Kind: kind, VisitorID: visitor, EventTime: at(deadline),
			CartKey: key, CartID: cartID, SessionID: session, StartedAt: at(start), Value: value, Items: items, SourceMessageID: msg(source)}
	}
	recovered := func(abandoned pipeline.Trigger, kind string, orderAt, source int) pipeline.Trigger {
		r := abandoned
		r.MessageID, r.Kind = triggers.ID(kind, r.VisitorID, r.CartKey), kind
		r.EventTime, r.OrderID, r.SourceMessageID = at(orderAt), "o-"+msg(source), msg(source)
		return r
	}
	stageChanged := func(visitor, from, to string, min, source int, session string) pipeline.Trigger {
		return pipeline.Trigger{MessageID: triggers.ID(pipeline.TriggerStageChanged, visitor, msg(source)), Kind: pipeline.TriggerStageChanged,
			VisitorID: visitor, EventTime: at(min), SessionID: session, FromStage: from, ToStage: to, SourceMessageID: msg(source)}
	}
	ca := cart(pipeline.TriggerCartAbandoned, "a", "ca", sid("a", at(0)), 0, 60, 10, []string{"pa"}, 3)
	cc := cart(pipeline.TriggerCheckoutAbandoned, "c", "cc", sid("c", at(5)), 5, 65, 14, []string{"pc"}, 4)
	cx := cart(pipeline.TriggerCartAbandoned, "x", "cx", sid("x", at(10)), 10, 70, 1, []string{"px"}, 1)
	cd := cart(pipeline.TriggerCartAbandoned, "d", "", sid("d", at(30)), 30, 90, 7, []string{"pd1", "pd2"}, 5)
	cc2 := cart(pipeline.TriggerCartAbandoned, "c", "cc2", sid("c", at(150)), 150, 210, 6, []string{"pc2"}, 18)
	want := []pipeline.Trigger{
		ca, cc, cx, cd, cc2,
		recovered(cc, pipeline.TriggerCheckoutRecovered, 75, 9),
		recovered(ca, pipeline.TriggerCartRecovered, 100, 13),
		recovered(cc2, pipeline.TriggerCartRecovered, 220, 20),
		stageChanged("b", "", "purchase", 0, 0, sid("b", at(0))),
		stageChanged("x", "", "purchase", 10, 1, sid("x", at(10))),
		stageChanged("a", "", "purchase", 0, 3, sid("a", at(0))),
		stageChanged("c", "", "purchase", 5, 4, sid("c", at(5))),
		stageChanged("d", "", "purchase", 30, 5, sid("d", at(30))),
		// The session the event was in when it was taken: a replay
		// that reads offset 7 before publishing must not say 45.
		stageChanged("s", "", "evaluation", 50, 6, sid("s", at(50))),
		stageChanged("e", "", "purchase", 80, 10, sid("e", at(80))),
		// x came back after the allowance: a fresh journey.
		stageChanged("x", "", "purchase", 141, 17, sid("x", at(140))),
		stageChanged("c", "purchase", "return", 220, 20, sid("c", at(220))),
	}
	wantJSON := make(map[string]string, len(want))
	for _, tr := range want {
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := wantJSON[tr.MessageID]; dup {
			t.Fatalf("two expected triggers share message id %s", tr.MessageID)
		}
		wantJSON[tr.MessageID] = string(b)
	}

	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	publish := func(from, to int) {
		t.Helper()
		if err := pub.Publish(ctx, events[from:to]); err != nil {
			t.Fatal(err)
		}
	}
	trig := &crashingTriggers{k: processor.NewKafkaTriggers([]string{addr}, "")}
	defer trig.k.Close()
	const group = "replay-triggers"
	start := func(batch int, flush time.Duration) (*prometheus.Registry, context.CancelFunc, chan error) {
		cfg := processor.DefaultConfig()
		cfg.Brokers = []string{addr}
		cfg.GroupID = group
		cfg.BatchSize = batch
		cfg.FlushInterval = flush
		cfg.Session.Allowance = 2 * time.Hour
		cfg.TriggerWindow = window
		cfg.ShutdownTimeout = time.Second
		cfg.Logger = quiet
		cfg.Triggers = trig
		reg := prometheus.NewRegistry()
		p, err := processor.New(cfg, sink, reg)
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(pctx) }()
		return reg, cancel, done
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 30s for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	client := &kafkago.Client{Addr: kafkago.TCP(addr)}
	committed := func() int64 {
		t.Helper()
		res, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{pipeline.TopicEvents: {0}}})
		if err != nil {
			t.Fatalf("offset fetch: %v", err)
		}
		for _, p := range res.Topics[pipeline.TopicEvents] {
			if p.Partition == 0 {
				return p.CommittedOffset
			}
		}
		return -1
	}

	// p1: offsets 0-10, a flush per event, a clean stop.
	publish(0, 11)
	reg, cancel, done := start(1, 50*time.Millisecond)
	waitFor("p1 to consume offsets 0-10", func() bool { return consumed(t, reg) == 11 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("p1: %v", err)
	}
	if c := committed(); c != 0 {
		t.Fatalf("p1 committed offset %d, want 0 (b's first offset)", c)
	}

	// p2: replays 0-10 and reads 11-17 in large batches, commits 3, then
	// publishes 18-19 and crashes before committing them.
	publish(11, 18)
	reg, cancel, done = start(1000, 300*time.Millisecond)
	waitFor("p2 to consume offsets 0-17 and commit 3", func() bool { return consumed(t, reg) == 18 && committed() == 3 })
	trig.crash.Store(true)
	publish(18, 20)
	waitFor("p2 to publish the triggers of offsets 18-19", func() bool { return trig.crashed.Load() > 0 })
	cancel()
	if err := <-done; !errors.Is(err, processor.ErrShutdownUnwritten) {
		t.Fatalf("p2 stopped with %v, want ErrShutdownUnwritten", err)
	}
	if got := consumed(t, reg); got != 20 {
		t.Fatalf("p2 consumed %v events, want 20", got)
	}
	if c := committed(); c != 3 {
		t.Fatalf("after p2's crash the committed offset is %d, want 3", c)
	}
	trig.crash.Store(false)

	// p3: replays from 3, a flush per event, reads 20.
	publish(20, 21)
	reg, cancel, done = start(1, 50*time.Millisecond)
	waitFor("p3 to consume offsets 3-20", func() bool { return consumed(t, reg) == 18 })
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("p3: %v", err)
	}
	if got := consumed(t, reg); got != 18 {
		t.Fatalf("p3 consumed %v events, want 18 (offsets 3-20)", got)
	}

	copies := map[string]int{}
	abandonedIDs := map[string]map[string]bool{} // by kind, visitor and cart id ("" for a session cart)
	for _, m := range testenv.ReadTopic(t, addr, pipeline.TopicTriggers) {
		var tr pipeline.Trigger
		if err := json.Unmarshal(m.Value, &tr); err != nil {
			t.Fatalf("trigger at offset %d: %v: %s", m.Offset, err, m.Value)
		}
		copies[tr.MessageID]++
		if tr.Kind == pipeline.TriggerCartAbandoned || tr.Kind == pipeline.TriggerCheckoutAbandoned {
			k := tr.Kind + "/" + tr.VisitorID + "/" + tr.CartID
			if abandonedIDs[k] == nil {
				abandonedIDs[k] = map[string]bool{}
			}
			abandonedIDs[k][tr.MessageID] = true
		}
		w, ok := wantJSON[tr.MessageID]
		switch {
		case !ok:
			t.Errorf("unexpected trigger (offset %d): %s", m.Offset, m.Value)
		case string(m.Value) != w:
			t.Errorf("trigger %s (offset %d) differs from the expected content\n got: %s\nwant: %s", tr.MessageID, m.Offset, m.Value, w)
		}
		if string(m.Key) != tr.VisitorID {
			t.Errorf("trigger %s keyed %q, want its visitor %q", tr.MessageID, m.Key, tr.VisitorID)
		}
	}
	for k, ids := range abandonedIDs {
		if len(ids) != 1 {
			t.Errorf("%s: %d different message ids", k, len(ids))
		}
	}
	var again []string
	for _, tr := range want {
		switch n := copies[tr.MessageID]; {
		case n == 0:
			t.Errorf("missing: %s of %s (%s)", tr.Kind, tr.VisitorID, tr.CartKey+tr.SourceMessageID)
		case n > 1:
			again = append(again, tr.Kind+" "+tr.VisitorID+" "+tr.SourceMessageID)
		}
	}
	// Offsets 18-19 were published by p2 and again by p3 (p2 did not
	// commit them); offsets from 3 on were published by p1 or p2 and again
	// by the replays.
	for _, id := range []string{cc2.MessageID, ca.MessageID, cd.MessageID} {
		if copies[id] < 2 {
			t.Errorf("trigger %s published %d times: a replay should have republished it", id, copies[id])
		}
	}
	slices.Sort(again)
	t.Logf("%d distinct triggers; republished: %s", len(copies), strings.Join(again, "; "))

	// The tables are exact too.
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM events FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(events)) {
		t.Errorf("events FINAL: %d rows, want %d", n, len(events))
	}
}
