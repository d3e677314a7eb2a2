package spool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	embeddedkafka "github.com/touchstream/touchstream/embedded/kafka"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/spool"
)

// sent is one request of the load: its events' ids, when it was sent, and
// the collector's answer.
type sent struct {
	ids    []string
	start  time.Time
	status int
}

// TestKafkaOutage stops the embedded Kafka under load and starts a new one
// on the same port: every event the collector answered 200 for, from a
// request sent after the broker stopped, arrives, in each visitor's order.
// Delivery is at least once (package doc): a publish that timed out while
// kafka-go still held its batch, or that Kafka stored in part, is sent
// again from the spool, so a request's events may arrive twice, all of
// them with the same message ids, which the processor and events FINAL
// drop. The test allows exactly that: a duplicate must be a second copy,
// identical, of every event of one request, and each visitor's order is
// checked on first arrivals. (The embedded broker keeps data in memory, so
// what was acknowledged before the outage is gone with the first broker:
// those events are not counted.)
func TestKafkaOutage(t *testing.T) {
	const (
		partitions = 4
		visitors   = 6
		perBatch   = 5
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b1, err := embeddedkafka.Start(embeddedkafka.Config{Listen: addr, Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}

	pub := kafka.NewPublisher([]string{addr}, nil)
	t.Cleanup(func() { pub.Close() })
	reg := prometheus.NewRegistry()
	sp, err := spool.New(t.TempDir(), pub, spool.Options{MaxBytes: 64 << 20, MaxBackoff: 500 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(t.Context())
	runDone := make(chan struct{})
	go func() { sp.Run(runCtx); close(runDone) }()
	t.Cleanup(func() { stopRun(); <-runDone })

	cfg := collector.DefaultConfig()
	cfg.RatePerSecond = 0
	srv, err := collector.New(cfg, sp, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	// Load: each visitor sends batches one after another until stopped.
	stop := make(chan struct{})
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		log []sent
	)
	for v := range visitors {
		wg.Go(func() {
			visitor := fmt.Sprintf("v%d", v)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var evs []string
				var ids []string
				for i := range perBatch {
					id := fmt.Sprintf("%s-%06d", visitor, n*perBatch+i)
					ids = append(ids, id)
					evs = append(evs, fmt.Sprintf(`{"type":"track","event":"E","anonymousId":%q,"messageId":%q}`, visitor, id))
				}
				body := `{"batch":[` + strings.Join(evs, ",") + `]}`
				start := time.Now()
				status := post(t, hs.URL+"/v1/batch?writeKey=dev", body)
				mu.Lock()
				log = append(log, sent{ids: ids, start: start, status: status})
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	time.Sleep(time.Second)
	b1.Close()
	outage := time.Now()
	t.Logf("broker stopped")
	time.Sleep(5 * time.Second)
	if err := sp.Ready(t.Context()); err != nil {
		t.Errorf("Ready during the outage: %v", err)
	}
	if st := sp.Stats(); st.Events == 0 {
		t.Errorf("nothing spooled during the outage")
	} else {
		t.Logf("spooled during the outage: %+v", st)
	}
	b2, err := embeddedkafka.Start(embeddedkafka.Config{Listen: addr, Partitions: partitions})
	if err != nil {
		t.Fatalf("restart broker on %s: %v", addr, err)
	}
	t.Cleanup(b2.Close)
	t.Logf("broker restarted")
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	deadline := time.Now().Add(30 * time.Second)
	for sp.Stats().Segments > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %+v", sp.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("drained after %s", time.Since(outage))

	// What must be there: every event of a request sent after the outage
	// began and answered 200; every request must have been answered 200.
	want := map[string]bool{}
	for _, s := range log {
		if s.status != http.StatusOK {
			t.Errorf("request %v answered %d", s.ids[0], s.status)
			continue
		}
		if s.start.After(outage) {
			for _, id := range s.ids {
				want[id] = true
			}
		}
	}
	msgs := testenv.ReadTopic(t, addr, pipeline.TopicEvents)
	seen := map[string]int{}
	first := map[string][]byte{} // the value of each message id's first copy
	last := map[string]int{}
	for _, m := range msgs {
		var e pipeline.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("decode %s: %v", m.Value, err)
		}
		if string(m.Key) != e.VisitorID {
			t.Errorf("%s keyed %q", e.MessageID, m.Key)
		}
		seen[e.MessageID]++
		if seen[e.MessageID] > 1 {
			if !bytes.Equal(first[e.MessageID], m.Value) {
				t.Errorf("%s arrived twice with different content:\n%s\n%s", e.MessageID, first[e.MessageID], m.Value)
			}
			continue // order is checked on first arrivals
		}
		first[e.MessageID] = m.Value
		_, numStr, _ := strings.Cut(e.MessageID, "-")
		num, _ := strconv.Atoi(numStr)
		if prev, ok := last[e.VisitorID]; ok && num <= prev {
			t.Errorf("visitor %s: %s after %06d (order broken)", e.VisitorID, e.MessageID, prev)
		}
		last[e.VisitorID] = num
	}
	missing, dup, again := 0, 0, 0
	for id := range want {
		switch seen[id] {
		case 0:
			missing++
			if missing <= 5 {
				t.Errorf("accepted event %s is missing", id)
			}
		case 1:
		case 2:
			dup++
		default:
			t.Errorf("accepted event %s arrived %d times", id, seen[id])
		}
	}
	// A second copy is a whole request sent again, never part of one.
	for _, s := range log {
		copies := seen[s.ids[0]]
		if copies < 2 || !s.start.After(outage) {
			continue
		}
		again++
		for _, id := range s.ids {
			if seen[id] != copies {
				t.Errorf("request %v: %s arrived %d times, %s %d times: a part of a request was sent again", s.ids, s.ids[0], copies, id, seen[id])
			}
		}
	}
	t.Logf("%d requests, %d events accepted after the outage began, %d messages on the new broker, %d missing, %d duplicated (%d requests sent again whole)",
		len(log), len(want), len(msgs), missing, dup, again)
	if len(want) == 0 {
		t.Fatal("no event sent during the outage")
	}
}

func post(t *testing.T, url, body string) int {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
