package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	embeddedkafka "github.com/touchstream/touchstream/embedded/kafka"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
)

// readTopic returns every message on topic, partition by partition, read
// with a kafka-go Reader.
func readTopic(t *testing.T, addr, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	var out []kafkago.Message
	for _, p := range parts {
		lc, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatalf("dial leader: %v", err)
		}
		last, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatalf("last offset: %v", err)
		}
		if last == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p.ID, MaxWait: 50 * time.Millisecond})
		for n := int64(0); n < last; n++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p.ID, err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

func testEvent(i int, visitor string) pipeline.Event {
	at := time.Date(2026, 11, 20, 10, 0, i, 0, time.UTC)
	return pipeline.Event{
		MessageID: fmt.Sprintf("m-%d", i), EventTime: at, ReceivedAt: at.Add(time.Second),
		Type: pipeline.TypeTrack, EventName: pipeline.EventProductAdded, Touchpoint: pipeline.TouchpointWeb,
		VisitorID: visitor, Revenue: 12.5, Properties: json.RawMessage(`{"sku":"a"}`), WriteKey: "dev",
	}
}

func TestPublishKeysByVisitor(t *testing.T) {
	addr := testenv.Kafka(t, 4)
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()

	var events []pipeline.Event
	for i := range 12 {
		events = append(events, testEvent(i, fmt.Sprintf("visitor-%d", i%3)))
	}
	if err := pub.Publish(t.Context(), events); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// Publish returned: everything is already on the topic.
	msgs := readTopic(t, addr, pipeline.TopicEvents)
	if len(msgs) != len(events) {
		t.Fatalf("got %d messages, want %d", len(msgs), len(events))
	}
	want := map[string]pipeline.Event{}
	for _, e := range events {
		want[e.MessageID] = e
	}
	partitionOf := map[string]int{}
	for _, m := range msgs {
		var got pipeline.Event
		if err := json.Unmarshal(m.Value, &got); err != nil {
			t.Fatalf("decode %s: %v", m.Value, err)
		}
		w := want[got.MessageID]
		if string(m.Key) != w.VisitorID {
			t.Errorf("message %s: key %q, want the visitor id %q", got.MessageID, m.Key, w.VisitorID)
		}
		if !got.EventTime.Equal(w.EventTime) || got.EventName != w.EventName || got.Revenue != w.Revenue || string(got.Properties) != string(w.Properties) {
			t.Errorf("message %s: got %+v, want %+v", got.MessageID, got, w)
		}
		if p, ok := partitionOf[w.VisitorID]; ok && p != m.Partition {
			t.Errorf("visitor %s on partitions %d and %d", w.VisitorID, p, m.Partition)
		}
		partitionOf[w.VisitorID] = m.Partition
		if p := (&kafkago.Hash{}).Balance(kafkago.Message{Key: m.Key}, 0, 1, 2, 3); p != m.Partition {
			t.Errorf("visitor %s on partition %d, want %d (kafka-go Hash)", w.VisitorID, m.Partition, p)
		}
	}
}

func TestReject(t *testing.T) {
	addr := testenv.Kafka(t, 2)
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	dead := []pipeline.Rejected{
		{ReceivedAt: at, Source: "/v1/batch", WriteKey: "dev", Index: 1, Error: "anonymousId or userId is required", Payload: json.RawMessage(`{"type":"track"}`)},
		{ReceivedAt: at, Source: "/v1/track", WriteKey: "dev", Index: -1, Error: "body: invalid JSON", Payload: json.RawMessage(`"{nope"`)},
	}
	if err := pub.Reject(t.Context(), dead); err != nil {
		t.Fatalf("reject: %v", err)
	}
	msgs := readTopic(t, addr, pipeline.TopicRejected)
	if len(msgs) != 2 {
		t.Fatalf("got %d dead letters, want 2", len(msgs))
	}
	got := map[int]pipeline.Rejected{}
	for _, m := range msgs {
		var r pipeline.Rejected
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatal(err)
		}
		got[r.Index] = r
	}
	for _, w := range dead {
		g := got[w.Index]
		if g.Error != w.Error || g.Source != w.Source || string(g.Payload) != string(w.Payload) || !g.ReceivedAt.Equal(w.ReceivedAt) {
			t.Errorf("dead letter %d: got %+v, want %+v", w.Index, g, w)
		}
	}
	if evs := readTopic(t, addr, pipeline.TopicEvents); len(evs) != 0 {
		t.Errorf("%d messages on %s, want none", len(evs), pipeline.TopicEvents)
	}
}

func TestConcurrentPublish(t *testing.T) {
	addr := testenv.Kafka(t, 4)
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				ev := testEvent(g*100+i, fmt.Sprintf("v%d", g))
				if err := pub.Publish(t.Context(), []pipeline.Event{ev}); err != nil {
					t.Errorf("publish: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(readTopic(t, addr, pipeline.TopicEvents)); n != 40 {
		t.Errorf("got %d messages, want 40", n)
	}
}

func TestBrokerDown(t *testing.T) {
	b, err := embeddedkafka.Start(embeddedkafka.Config{Listen: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	pub := kafka.NewPublisher([]string{b.Addr()}, nil)
	defer pub.Close()
	if err := pub.Ready(t.Context()); err != nil {
		t.Fatalf("ready with the broker up: %v", err)
	}
	if err := pub.Publish(t.Context(), []pipeline.Event{testEvent(1, "v")}); err != nil {
		t.Fatalf("publish with the broker up: %v", err)
	}
	b.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := pub.Publish(ctx, []pipeline.Event{testEvent(2, "v")}); err == nil {
		t.Fatal("publish with the broker down: no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("publish took %s past its deadline", d)
	}
	t.Logf("publish failed after %s", time.Since(start))
	start = time.Now()
	// Readiness follows within the metadata refresh interval.
	deadline := time.Now().Add(15 * time.Second)
	for pub.Ready(t.Context()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("still ready 15s after the broker went away")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestNoBrokers(t *testing.T) {
	pub := kafka.NewPublisher(nil, nil)
	defer pub.Close()
	if err := pub.Ready(t.Context()); err == nil {
		t.Error("ready without brokers")
	}
	if err := pub.Publish(t.Context(), []pipeline.Event{testEvent(1, "v")}); err == nil {
		t.Error("publish without brokers: no error")
	}
}

func TestClose(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	pub := kafka.NewPublisher([]string{addr}, nil)
	if err := pub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := pub.Publish(t.Context(), []pipeline.Event{testEvent(1, "v")}); err == nil {
		t.Error("publish after close: no error")
	}
}

// TestPublishedBytes publishes batches of varied events from several
// goroutines (so encodings are reused across writes) and requires every
// value on the topic to be exactly json.Marshal of its event, and its key
// the visitor id.
func TestPublishedBytes(t *testing.T) {
	addr := testenv.Kafka(t, 2)
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	want := map[string][]byte{}
	var batches [][]pipeline.Event
	for g := range 4 {
		for b := range 3 {
			var batch []pipeline.Event
			for i := range 1 + 7*b {
				n := g*1000 + b*100 + i
				e := testEvent(n, fmt.Sprintf("visitor <%d> & \u2028%d", g, i%2))
				e.PageURL = fmt.Sprintf("https://shop.example.com/?q=%s", strings.Repeat("x", n%97))
				e.Revenue = float64(n) / 7
				e.Properties = json.RawMessage(fmt.Sprintf(`{ "n" : %d, "s": "<%s>" }`, n, strings.Repeat("y", n%31)))
				v, err := json.Marshal(&e)
				if err != nil {
					t.Fatal(err)
				}
				want[e.MessageID] = v
				batch = append(batch, e)
			}
			batches = append(batches, batch)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for _, batch := range batches[3*g : 3*g+3] {
				if err := pub.Publish(t.Context(), batch); err != nil {
					t.Errorf("publish: %v", err)
				}
			}
		})
	}
	wg.Wait()
	msgs := readTopic(t, addr, pipeline.TopicEvents)
	if len(msgs) != len(want) {
		t.Fatalf("got %d messages, want %d", len(msgs), len(want))
	}
	for _, m := range msgs {
		var e pipeline.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("decode %q: %v", m.Value, err)
		}
		w, ok := want[e.MessageID]
		if !ok {
			t.Fatalf("message %q published twice or never sent", e.MessageID)
		}
		delete(want, e.MessageID)
		if string(m.Value) != string(w) {
			t.Errorf("value\n%s\nwant json.Marshal's\n%s", m.Value, w)
		}
		if string(m.Key) != e.VisitorID {
			t.Errorf("message %s: key %q, want %q", e.MessageID, m.Key, e.VisitorID)
		}
	}
}

// TestPublishUnencodable: an event json.Marshal refuses fails the whole
// Publish with the event's index and encoding/json's error, before
// anything is written; likewise a dead letter.
func TestPublishUnencodable(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	bad := testEvent(2, "v")
	bad.Revenue = math.NaN()
	err := pub.Publish(t.Context(), []pipeline.Event{testEvent(1, "v"), bad})
	if err == nil || err.Error() != "encode event 1: json: unsupported value: NaN" {
		t.Errorf("publish of a NaN revenue: %v", err)
	}
	err = pub.Reject(t.Context(), []pipeline.Rejected{{Source: "/v1/batch", Payload: json.RawMessage(`{"a"`)}})
	if err == nil || err.Error() != "encode dead letter 0: json: error calling MarshalJSON for type json.RawMessage: unexpected end of JSON input" {
		t.Errorf("reject of an invalid payload: %v", err)
	}
	if n := len(readTopic(t, addr, pipeline.TopicEvents)); n != 0 {
		t.Errorf("%d events written, want none", n)
	}
	if n := len(readTopic(t, addr, pipeline.TopicRejected)); n != 0 {
		t.Errorf("%d dead letters written, want none", n)
	}
}
