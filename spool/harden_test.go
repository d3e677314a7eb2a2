package spool_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/spool"
)

// TestLock: a second Spool on a directory in use fails fast with
// ErrLocked, and succeeds once the first is closed.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	s1 := newSpool(t, dir, &fakePublisher{}, spool.Options{})
	_, err := spool.New(dir, &fakePublisher{}, spool.Options{})
	if !errors.Is(err, spool.ErrLocked) {
		t.Fatalf("second spool on the same dir: %v, want ErrLocked", err)
	}
	t.Logf("second spool: %v", err)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	newSpool(t, dir, &fakePublisher{}, spool.Options{})
}

// readDeadLetters returns the message ids and errors in the dead-letter
// file of dir.
func readDeadLetters(t *testing.T, dir string) (ids, errs []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "dead-letters.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d struct {
			Error string         `json:"error"`
			Event pipeline.Event `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead letter %q: %v", sc.Bytes(), err)
		}
		ids = append(ids, d.Event.MessageID)
		errs = append(errs, d.Error)
	}
	return ids, errs
}

// TestPermanentErrorDeadLetters: events the next publisher refuses for
// good (with their whole batch, as a broker refuses a record batch) are
// moved to the dead-letter file and counted, and the drain goes on with
// everything else, in order, across several drain batches.
func TestPermanentErrorDeadLetters(t *testing.T) {
	dir := t.TempDir()
	f := &fakePublisher{down: true, refuse: map[string]bool{"a-004": true, "b-011": true, "b-012": true}}
	reg := prometheus.NewRegistry()
	s := newSpool(t, dir, f, spool.Options{DrainBatch: 16, Registerer: reg})
	var want []string
	for i := range 8 {
		for _, v := range []string{"a", "b"} {
			evs := batch(v, 3*i, 3)
			if err := s.Publish(t.Context(), evs); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids(evs) {
				if !f.refuse[id] {
					want = append(want, id)
				}
			}
		}
	}
	f.setDown(false)
	run(t, s)
	waitEmpty(t, s)
	equal(t, f.ids(), want)
	dead, errs := readDeadLetters(t, dir)
	equal(t, dead, []string{"a-004", "b-011", "b-012"})
	for _, e := range errs {
		if e == "" {
			t.Error("a dead letter without its error")
		}
	}
	if n := deadLetterCount(t, reg); n != 3 {
		t.Errorf("touchstream_collector_spool_dead_letters_total = %v, want 3", n)
	}
	t.Logf("%d publish calls for %d events, 3 refused", f.calls, len(want)+3)
}

func deadLetterCount(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "touchstream_collector_spool_dead_letters_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no touchstream_collector_spool_dead_letters_total")
	return 0
}

// TestRetryableKeepsOrder: retryable failures of the drain are retried
// with back-off, nothing is dead-lettered, and the order is kept.
func TestRetryableKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	f := &fakePublisher{down: true}
	s := newSpool(t, dir, f, spool.Options{DrainBatch: 4})
	var want []string
	for i := range 6 {
		evs := batch("a", 2*i, 2)
		if err := s.Publish(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		want = append(want, ids(evs)...)
	}
	f.mu.Lock()
	f.down, f.failN, f.calls = false, 5, 0
	f.mu.Unlock()
	run(t, s)
	waitEmpty(t, s)
	equal(t, f.ids(), want)
	if f.calls < 5+3 {
		t.Errorf("%d publish calls, want at least 8 (5 failures, 3 drain batches)", f.calls)
	}
	if _, err := os.Stat(filepath.Join(dir, "dead-letters.jsonl")); !os.IsNotExist(err) {
		t.Errorf("dead-letter file after retryable errors only: %v", err)
	}
}

// TestTooLargeForKafka runs the spool in front of the real Kafka publisher
// and a broker whose records may be at most 4000 bytes: an event too large
// for it, sent among good ones (whose record batches the broker refuses
// with it), is moved to the dead-letter file; every other event reaches
// the topic once, in each visitor's order.
func TestTooLargeForKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(2, pipeline.TopicEvents, pipeline.TopicRejected),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4000"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	dir := t.TempDir()
	s, err := spool.New(dir, pub, spool.Options{MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run(t, s)
	var want []string
	for i := range 5 {
		evs := append(batch("a", 4*i, 4), batch("b", 4*i, 4)...)
		if i == 2 {
			evs[5].Properties = json.RawMessage(`{"blob":"` + strings.Repeat("x", 6000) + `"}`)
		}
		if err := s.Publish(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		for j, e := range evs {
			if !(i == 2 && j == 5) {
				want = append(want, e.MessageID)
			}
		}
	}
	waitEmpty(t, s)
	dead, _ := readDeadLetters(t, dir)
	equal(t, dead, []string{"b-009"})
	seen := map[string]int{}
	last := map[string]string{}
	for _, m := range testenv.ReadTopic(t, addr, pipeline.TopicEvents) {
		var e pipeline.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		seen[e.MessageID]++
		if p := last[e.VisitorID]; p >= e.MessageID && seen[e.MessageID] == 1 {
			t.Errorf("visitor %s: %s after %s", e.VisitorID, e.MessageID, p)
		}
		last[e.VisitorID] = max(last[e.VisitorID], e.MessageID)
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("event %s did not reach Kafka", id)
		}
	}
	if seen["b-009"] != 0 {
		t.Error("the too large event reached Kafka")
	}
	t.Logf("%d events on the topic (%d distinct, re-sent ones are duplicates the consumers drop), 1 dead letter", func() int {
		n := 0
		for _, v := range seen {
			n += v
		}
		return n
	}(), len(seen))
}
