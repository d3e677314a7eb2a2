package redirect_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
)

const partitions = 2

// TestCollectorKafka serves the redirect from a real collector in front of
// the embedded Kafka: the click lands on clickstream.events, keyed by the
// recipient, before the 302.
func TestCollectorKafka(t *testing.T) {
	addr := testenv.Kafka(t, partitions)
	pub := kafka.NewPublisher([]string{addr}, nil)
	t.Cleanup(func() { pub.Close() })
	srv, err := collector.New(collector.DefaultConfig(), pub, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("GET /r/{token}", redirect.Handler(srv, [][]byte{secret, oldSecret}))
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	link := testLink
	link.Expires = time.Now().Add(time.Hour)
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+path, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	before := time.Now().UTC().Add(-time.Second)
	if res := get("/r/" + sign(t, oldSecret, link)); res.StatusCode != http.StatusFound || res.Header.Get("Location") != link.URL {
		t.Fatalf("click: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get("/r/" + sign(t, otherKey, link)); res.StatusCode != http.StatusForbidden {
		t.Errorf("forged: %d", res.StatusCode)
	}

	msgs := readTopic(t, addr, pipeline.TopicEvents)
	if len(msgs) != 1 {
		t.Fatalf("%d events on %s, want 1", len(msgs), pipeline.TopicEvents)
	}
	var ev pipeline.Event
	if err := json.Unmarshal(msgs[0].Value, &ev); err != nil {
		t.Fatal(err)
	}
	if string(msgs[0].Key) != "crm-42" || ev.Type != "track" || ev.EventName != "Email Link Clicked" || ev.Touchpoint != "email" ||
		ev.VisitorID != "crm-42" || ev.UserID != "crm-42" || ev.UTMCampaign != "bf" || ev.UTMMedium != "email" ||
		ev.UTMSource != "newsletter" || ev.PageURL != link.URL || ev.WriteKey != "dev" || ev.ReceivedAt.Before(before) ||
		string(ev.Properties) != `{"url":"https://shop.test/deals?utm_source=newsletter\u0026utm_medium=email\u0026utm_campaign=bf#top","campaign":"bf"}` {
		t.Errorf("published key %q %+v properties %s", msgs[0].Key, ev, ev.Properties)
	}
}

// readTopic returns every message on topic. It does not wait: the
// collector answered only after Kafka acknowledged.
func readTopic(t *testing.T, addr, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var out []kafkago.Message
	for p := range partitions {
		lc, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p)
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
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		for n := int64(0); n < last; n++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}
