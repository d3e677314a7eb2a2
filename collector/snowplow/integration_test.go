package snowplow_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/collector/snowplow"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

const partitions = 2

// TestCollectorKafka serves both endpoints from a real collector in front
// of the embedded Kafka: a POST batch of a page view, a transaction and an
// event without an id, and a GET page ping. The good events land on
// clickstream.events keyed by the visitor, the bad one on
// clickstream.rejected.
func TestCollectorKafka(t *testing.T) {
	cfg := collector.DefaultConfig()
	cfg.WriteKeys = []string{"shop"}
	s := collectortest.New(t, partitions, cfg)
	h := snowplow.Handler(s.Server)
	s.Server.Handle("POST /com.snowplowanalytics.snowplow/tp2", h)
	s.Server.Handle("OPTIONS /com.snowplowanalytics.snowplow/tp2", h)
	s.Server.Handle("GET /i", h)
	base := s.Serve(t)

	before := time.Now().UTC().Add(-time.Second)
	body := payload(
		jsPageView("shop", "e-1"),
		`{"e":"tr","tr_id":"T-1","tr_tt":"49.90","tr_cu":"EUR","aid":"shop","p":"web","tv":"js-3.23.0","duid":"d-2","eid":"e-2"}`,
		`{"e":"pv","aid":"shop","p":"web","eid":"e-3"}`,
	)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/com.snowplowanalytics.snowplow/tp2", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ans, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(ans) != `{"accepted":2,"rejected":[{"index":2,"error":"duid, nuid, tnuid or uid is required (or a client_session entity with userId)"}]}`+"\n" {
		t.Fatalf("POST: %d %s", res.StatusCode, ans)
	}

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/i?stm=1&e=pp&aid=shop&p=web&tv=js-3.23.0&eid=e-4&duid=d-2&url=https%3A%2F%2Fshop.example%2Fcart&pp_miy=0&pp_may=300", nil)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" || res.Header.Get("X-Touchstream-Error") != "" {
		t.Fatalf("GET: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("X-Touchstream-Error"))
	}

	msgs := testenv.ReadTopic(t, s.Kafka, pipeline.TopicEvents)
	if len(msgs) != 3 {
		t.Fatalf("%d events on %s, want 3", len(msgs), pipeline.TopicEvents)
	}
	byID := map[string]pipeline.Event{}
	for _, m := range msgs {
		var ev pipeline.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != ev.VisitorID || ev.WriteKey != "shop" || ev.ReceivedAt.Before(before) {
			t.Errorf("published key %q %+v", m.Key, ev)
		}
		byID[ev.MessageID] = ev
	}
	if ev := byID["e-1"]; ev.Type != "page" || ev.EventName != "Shop" || ev.UTMCampaign != "winter" || ev.Touchpoint != "web" ||
		!ev.EventTime.Equal(ev.ReceivedAt.Add(-time.Second)) {
		t.Errorf("page view %+v", ev)
	}
	if ev := byID["e-2"]; !ev.IsConversion() || ev.Revenue != 49.9 || ev.OrderID != "T-1" || ev.Currency != "EUR" || ev.VisitorID != "d-2" {
		t.Errorf("transaction %+v", ev)
	}
	// stm=1 with no dtm says nothing: the ping happened when received.
	if ev := byID["e-4"]; ev.EventName != "Page Ping" || ev.EngagementMS != 10000 || ev.PagePath != "/cart" || !ev.EventTime.Equal(ev.ReceivedAt) {
		t.Errorf("page ping %+v", ev)
	}

	dead := testenv.ReadTopic(t, s.Kafka, pipeline.TopicRejected)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	var d pipeline.Rejected
	if err := json.Unmarshal(dead[0].Value, &d); err != nil {
		t.Fatal(err)
	}
	if d.Source != "/com.snowplowanalytics.snowplow/tp2" || d.WriteKey != "shop" || d.Index != 2 ||
		string(d.Payload) != `{"e":"pv","aid":"shop","p":"web","eid":"e-3"}` {
		t.Errorf("dead letter %+v payload %s", d, d.Payload)
	}
}

// recorder is a collector.Publisher that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []pipeline.Event
}

func (r *recorder) Publish(_ context.Context, events []pipeline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
	return nil
}
func (r *recorder) Reject(context.Context, []pipeline.Rejected) error { return nil }
func (r *recorder) Ready(context.Context) error                       { return nil }

// TestRegistered goes through endpoints.Register, as cmd/collector wires
// the collector: the routes are there, and the collector's own CORS
// wildcard gives way to the origin the JavaScript tracker's credentialed
// requests need.
func TestRegistered(t *testing.T) {
	rec := &recorder{}
	cfg := collector.DefaultConfig()
	cfg.WriteKeys = []string{"shop"}
	srv, err := collector.New(cfg, rec, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := endpoints.Register(srv, endpoints.Config{}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	do := func(method, target, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, hs.URL+target, strings.NewReader(body))
		req.Header.Set("Origin", "https://shop.example")
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, c := range []struct {
		method, target, body string
		status               int
	}{
		{http.MethodOptions, "/com.snowplowanalytics.snowplow/tp2", "", http.StatusNoContent},
		{http.MethodPost, "/com.snowplowanalytics.snowplow/tp2", payload(jsPageView("shop", "e-1")), http.StatusOK},
		{http.MethodGet, "/i?e=se&se_ac=click&aid=shop&duid=d&eid=e-2", "", http.StatusOK},
	} {
		res := do(c.method, c.target, c.body)
		if res.StatusCode != c.status || res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
			res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s %s: %d, CORS %q %q", c.method, c.target, res.StatusCode,
				res.Header.Get("Access-Control-Allow-Origin"), res.Header.Get("Access-Control-Allow-Credentials"))
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var ids []string
	for _, e := range rec.events {
		ids = append(ids, e.MessageID)
	}
	if !slices.Equal(ids, []string{"e-1", "e-2"}) {
		t.Errorf("published %v", ids)
	}
}
