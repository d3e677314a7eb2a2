package endpoints

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/pipeline"
)

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

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.EventName)
	}
	return out
}

func newServer(t *testing.T, cfg Config) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	ccfg := collector.DefaultConfig()
	ccfg.WriteKeys = []string{"k"}
	srv, err := collector.New(ccfg, rec, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(srv, cfg); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, rec
}

func TestRegisterServesEveryProtocol(t *testing.T) {
	secret := []byte("a-secret-of-at-least-16-bytes")
	ts, rec := newServer(t, Config{LinkSecrets: [][]byte{secret}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := noRedirect.Get(ts.URL + "/pixel/v1/track?writeKey=k&anonymousId=a1&touchpoint=email&utm_campaign=welcome")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" {
		t.Errorf("pixel: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	token, err := redirect.Sign(secret, redirect.Link{URL: "https://shop.example/cart", Campaign: "cart", Recipient: "u1", Touchpoint: "email", WriteKey: "k", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	res, err = noRedirect.Get(ts.URL + "/r/" + token)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://shop.example/cart" {
		t.Errorf("redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	entries, err := os.ReadDir("../../schemas/webhooks/examples/generic-social")
	if err != nil || len(entries) == 0 {
		t.Fatalf("example payloads: %v", err)
	}
	body, err := os.ReadFile("../../schemas/webhooks/examples/generic-social/" + entries[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/webhooks/generic-social", strings.NewReader(string(body)))
	req.SetBasicAuth("k", "")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("webhook: %d", res.StatusCode)
	}

	names := strings.Join(rec.names(), ",")
	for _, want := range []string{"Email Opened", "Email Link Clicked", "Social "} {
		if !strings.Contains(names, want) {
			t.Errorf("published %q, missing %q", names, want)
		}
	}
}

func TestRegisterWithoutLinkSecret(t *testing.T) {
	ts, _ := newServer(t, Config{})
	res, err := http.Get(ts.URL + "/r/anything")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /r/ without a secret: %d, want 404", res.StatusCode)
	}
	for name, cfg := range map[string]Config{
		"a 5-byte link secret":         {LinkSecrets: [][]byte{[]byte("short")}},
		"a missing webhooks directory": {WebhooksDir: t.TempDir() + "/missing"},
	} {
		srv, _ := collector.New(collector.DefaultConfig(), &recorder{}, prometheus.NewRegistry(), nil)
		if err := Register(srv, cfg); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
}

// TestRateLimitIs429: a write key over its rate gets 429 with Retry-After
// on the pixel and webhook routes too, as on the Segment API.
func TestRateLimitIs429(t *testing.T) {
	ccfg := collector.DefaultConfig()
	ccfg.WriteKeys = []string{"k"}
	ccfg.RatePerSecond, ccfg.Burst = 0.001, 1
	srv, err := collector.New(ccfg, &recorder{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(srv, Config{}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	pixel := ts.URL + "/pixel/v1/track?writeKey=k&anonymousId=a1&touchpoint=email"
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		res, err := http.Get(pixel)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || (want == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "") {
			t.Errorf("pixel request %d: %d Retry-After %q, want %d", i+1, res.StatusCode, res.Header.Get("Retry-After"), want)
		}
	}
	body, err := os.ReadFile("../../schemas/webhooks/examples/generic-social/batch.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/webhooks/generic-social", strings.NewReader(string(body)))
	req.SetBasicAuth("k", "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("webhook over the rate: %d, want 429", res.StatusCode)
	}
}
