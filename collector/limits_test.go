package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/pipeline"
)

// memPublisher keeps what it is handed.
type memPublisher struct {
	mu     sync.Mutex
	events []pipeline.Event
	dead   []pipeline.Rejected
}

func (p *memPublisher) Publish(_ context.Context, evs []pipeline.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, evs...)
	return nil
}

func (p *memPublisher) Reject(_ context.Context, d []pipeline.Rejected) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = append(p.dead, d...)
	return nil
}

func (p *memPublisher) Ready(context.Context) error { return nil }

// clock is a settable time for Server.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestServer(t *testing.T, cfg Config) (*Server, *clock, *memPublisher) {
	t.Helper()
	pub := &memPublisher{}
	s, err := New(cfg, pub, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	c := &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	s.now = c.now
	return s, c, pub
}

// metricsHas checks that /metrics has the line want.
func metricsHas(t *testing.T, s *Server, want string) {
	t.Helper()
	w := serve(s, "GET", "/metrics", nil)
	if !strings.Contains(w.Body.String(), want+"\n") {
		t.Errorf("/metrics lacks %s", want)
	}
}

// serve sends one request to s; headers are "Name: value".
func serve(s *Server, method, target string, body []byte, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// batchOf is a batch body of n track events.
func batchOf(n int, key string) []byte {
	var b strings.Builder
	b.WriteString(`{"writeKey":"` + key + `","batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"track","event":"E","anonymousId":"a"}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sources.json")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSources(t *testing.T) {
	t.Setenv("TS_TEST_SHOP_KEY", "secret-from-env")
	got, err := LoadSources(writeFile(t, `{"sources":[
		{"name":"web shop","write_key_env":"TS_TEST_SHOP_KEY","allowed_origins":["https://shop.example"],"rate_per_second":200,"burst":400},
		{"name":"backend","write_key":"backend-key"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].WriteKey != "secret-from-env" || got[0].RatePerSecond != 200 || got[0].Burst != 400 ||
		len(got[0].AllowedOrigins) != 1 || got[1].WriteKey != "backend-key" {
		t.Fatalf("got %+v", got)
	}
	cfg := DefaultConfig()
	cfg.WriteKeys, cfg.Sources = nil, got
	if err := cfg.Validate(); err != nil {
		t.Errorf("config with the sources: %v", err)
	}
	if s := got[0].String(); strings.Contains(s, "secret") {
		t.Errorf("String shows the key: %s", s)
	}

	tests := []struct {
		name, text, want string
	}{
		{"no name", `{"sources":[{"write_key":"a"}]}`, "sources[0]: name is required"},
		{"no key", `{"sources":[{"name":"a"}]}`, "sources[0] (a): write_key or write_key_env is required"},
		{"both", `{"sources":[{"name":"a","write_key":"k","write_key_env":"TS_TEST_SHOP_KEY"}]}`, "sources[0] (a): write_key and write_key_env"},
		{"env unset", `{"sources":[{"name":"a","write_key_env":"TS_TEST_UNSET_KEY"}]}`, "sources[0] (a): write_key_env: environment variable TS_TEST_UNSET_KEY is not set"},
		{"same name", `{"sources":[{"name":"a","write_key":"k"},{"name":"a","write_key":"l"}]}`, "sources[1] (a): name: the same as sources[0]"},
		{"same key", `{"sources":[{"name":"a","write_key":"k"},{"name":"b","write_key":"k"}]}`, "sources[1] (b): write_key: the same as sources[0]"},
		{"bad origin", `{"sources":[{"name":"a","write_key":"k","allowed_origins":["shop.example"]}]}`, "sources[0] (a): allowed_origins[0]:"},
		{"origin path", `{"sources":[{"name":"a","write_key":"k","allowed_origins":["https://shop.example/x"]}]}`, "allowed_origins[0]:"},
		{"negative burst", `{"sources":[{"name":"a","write_key":"k","burst":-1}]}`, "sources[0] (a): burst:"},
		{"unknown field", `{"sources":[{"name":"a","write_key":"k","rate":1}]}`, `unknown field "rate"`},
		{"wrong type", `{"sources":[{"name":"a","write_key":"k","burst":"x"}]}`, "burst"},
		{"empty", `{"sources":[]}`, "sources: at least one is required"},
		{"not json", `sources: []`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSources(writeFile(t, tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-from-env") {
				t.Errorf("the error shows a key: %v", err)
			}
		})
	}
	if _, err := LoadSources(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestRateLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WriteKeys = []string{"k"}
	cfg.Sources = []Source{
		{Name: "slow", WriteKey: "slow", RatePerSecond: 1, Burst: 3},
		{Name: "other", WriteKey: "other", RatePerSecond: 1, Burst: 3},
		{Name: "trickle", WriteKey: "trickle", RatePerSecond: 0.1, Burst: 1},
		{Name: "free", WriteKey: "free", RatePerSecond: -1},
	}
	s, clk, pub := newTestServer(t, cfg)

	if w := serve(s, "POST", "/v1/batch", batchOf(3, "slow")); w.Code != 200 {
		t.Fatalf("the burst: %d %s", w.Code, w.Body)
	}
	w := serve(s, "POST", "/v1/batch", batchOf(1, "slow"))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("over the burst: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := serve(s, "POST", "/v1/batch", batchOf(3, "other")); w.Code != 200 {
		t.Errorf("another key: %d %s", w.Code, w.Body)
	}
	clk.add(time.Second)
	if w := serve(s, "POST", "/v1/track?writeKey=slow", []byte(`{"event":"E","anonymousId":"a"}`)); w.Code != 200 {
		t.Errorf("after a second: %d %s", w.Code, w.Body)
	}
	if w := serve(s, "POST", "/v1/track?writeKey=slow", []byte(`{"event":"E","anonymousId":"a"}`)); w.Code != 429 {
		t.Errorf("again: %d %s", w.Code, w.Body)
	}

	// Retry-After comes from the limiter: one event every 10 s.
	serve(s, "POST", "/v1/batch", batchOf(1, "trickle"))
	clk.add(2500 * time.Millisecond)
	if w := serve(s, "POST", "/v1/batch", batchOf(1, "trickle")); w.Code != 429 || w.Header().Get("Retry-After") != "8" {
		t.Errorf("trickle: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	// A batch larger than the burst takes the whole bucket rather than never fitting.
	if w := serve(s, "POST", "/v1/batch", batchOf(5, "other")); w.Code != 200 {
		t.Errorf("big batch on a full bucket: %d %s", w.Code, w.Body)
	}
	if w := serve(s, "POST", "/v1/batch", batchOf(5, "other")); w.Code != 429 || w.Header().Get("Retry-After") != "3" {
		t.Errorf("big batch on an empty bucket: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	clk.add(3 * time.Second)
	if w := serve(s, "POST", "/v1/batch", batchOf(5, "other")); w.Code != 200 {
		t.Errorf("big batch on a refilled bucket: %d %s", w.Code, w.Body)
	}
	// Unlimited, and the default (1000/s, burst 2000) for the simple keys.
	if w := serve(s, "POST", "/v1/batch", batchOf(3000, "free")); w.Code != 200 {
		t.Errorf("unlimited: %d", w.Code)
	}
	if w := serve(s, "POST", "/v1/batch", batchOf(2000, "k")); w.Code != 200 {
		t.Errorf("default burst: %d", w.Code)
	}
	if w := serve(s, "POST", "/v1/batch", batchOf(1, "k")); w.Code != 429 {
		t.Errorf("past the default burst: %d", w.Code)
	}

	metricsHas(t, s, `touchstream_collector_rate_limited_total{source="slow"} 2`)
	metricsHas(t, s, `touchstream_collector_rate_limited_total{source="write_keys[0]"} 1`)
	if n := len(pub.dead); n != 0 {
		t.Errorf("%d dead letters for rate-limited requests", n)
	}

	// Accept (pixel, webhooks, Snowplow) counts against the same bucket.
	ev := pipeline.Event{WriteKey: "slow"}
	if err := s.Accept(t.Context(), "/pixel/v1/track", []pipeline.Event{ev, ev, ev}, nil); err != nil {
		t.Fatalf("Accept within the burst: %v", err)
	}
	err := s.Accept(t.Context(), "/pixel/v1/track", []pipeline.Event{ev}, nil)
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.Source != "slow" {
		t.Fatalf("Accept over the rate: %v", err)
	}
	clk.add(time.Minute)
	if err := s.Accept(t.Context(), "/pixel/v1/track", []pipeline.Event{ev}, nil); err != nil {
		t.Errorf("Accept after a minute: %v", err)
	}
}

// nested is a track event whose whole body nests depth levels deep.
func nested(depth int) []byte {
	return []byte(`{"event":"E","anonymousId":"a","properties":{"x":` +
		strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2) + `}}`)
}

func TestDepthCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WriteKeys = []string{"k"}
	s, _, _ := newTestServer(t, cfg)
	for _, tt := range []struct {
		depth int
		want  int
	}{{3, 200}, {63, 200}, {64, 200}, {65, 400}, {10000, 400}} {
		w := serve(s, "POST", "/v1/track?writeKey=k", nested(tt.depth))
		if w.Code != tt.want {
			t.Errorf("depth %d: %d %s, want %d", tt.depth, w.Code, w.Body, tt.want)
		}
		if tt.want == 400 && !strings.Contains(w.Body.String(), "nested deeper than 64") {
			t.Errorf("depth %d: %s", tt.depth, w.Body)
		}
	}
	metricsHas(t, s, `touchstream_collector_events_rejected_total{reason="too_deep"} 2`)
	// Brackets inside strings, escaped quotes included, do not count.
	str := `{"a":"` + strings.Repeat(`[\"{`, 100) + `"}`
	if tooDeep([]byte(str), 64) {
		t.Error("brackets in a string counted")
	}
	if !tooDeep([]byte(`{"a":"\\"`+strings.Repeat("[", 64)), 64) {
		t.Error("an escaped backslash ends the string: the brackets after it count")
	}
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestGzipBomb(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WriteKeys = []string{"k"}
	s, _, pub := newTestServer(t, cfg)

	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
	zw.Write([]byte(`{"writeKey":"k","batch":[{"type":"track","event":"E","anonymousId":"a","properties":{"pad":"`))
	zw.Write(make([]byte, 10<<20)) // 10 MB of zeros
	zw.Close()
	if zb.Len() > cfg.MaxBatchBytes {
		t.Fatalf("the bomb is %d bytes compressed: not a bomb", zb.Len())
	}
	body := &countingReader{r: bytes.NewReader(zb.Bytes())}
	r := httptest.NewRequest("POST", "/v1/batch", body)
	r.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip bomb: %d %s", w.Code, w.Body)
	}
	if body.n >= zb.Len() {
		t.Errorf("read all %d compressed bytes; want to stop at the decompressed limit", body.n)
	}
	if len(pub.events) != 0 {
		t.Errorf("%d events published", len(pub.events))
	}
	t.Logf("compressed %d bytes, read %d", zb.Len(), body.n)
}

func TestCORSPerSource(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WriteKeys = []string{"open"}
	cfg.Sources = []Source{{Name: "shop", WriteKey: "shopkey", AllowedOrigins: []string{"https://shop.example"}}}
	s, _, pub := newTestServer(t, cfg)
	const good, bad = "Origin: https://shop.example", "Origin: https://evil.example"
	track := []byte(`{"event":"E","anonymousId":"a"}`)
	bodyKey := []byte(`{"writeKey":"shopkey","event":"E","anonymousId":"a"}`)

	tests := []struct {
		name       string
		method     string
		target     string
		body       []byte
		origin     string
		wantCode   int
		wantOrigin string
	}{
		{"key in query, allowed", "POST", "/v1/track?writeKey=shopkey", track, good, 200, "https://shop.example"},
		{"key in query, refused", "POST", "/v1/track?writeKey=shopkey", track, bad, 403, ""},
		{"key in body, allowed", "POST", "/v1/track", bodyKey, good, 200, "https://shop.example"},
		{"key in body, refused", "POST", "/v1/track", bodyKey, bad, 403, ""},
		{"no origin (server side)", "POST", "/v1/track?writeKey=shopkey", track, "", 200, ""},
		{"open source", "POST", "/v1/track?writeKey=open", track, bad, 200, "*"},
		{"preflight allowed", "OPTIONS", "/v1/track?writeKey=shopkey", nil, good, 204, "https://shop.example"},
		{"preflight refused", "OPTIONS", "/v1/track?writeKey=shopkey", nil, bad, 204, ""},
		{"preflight without key", "OPTIONS", "/v1/track", nil, bad, 204, "*"},
		{"unknown key", "POST", "/v1/track?writeKey=nope", track, bad, 401, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.origin != "" {
				h = append(h, tt.origin)
			}
			w := serve(s, tt.method, tt.target, tt.body, h...)
			if w.Code != tt.wantCode || w.Header().Get("Access-Control-Allow-Origin") != tt.wantOrigin {
				t.Errorf("%d, Allow-Origin %q; want %d, %q (%s)", w.Code, w.Header().Get("Access-Control-Allow-Origin"), tt.wantCode, tt.wantOrigin, w.Body)
			}
			if tt.wantOrigin != "" && tt.wantOrigin != "*" && w.Header().Get("Vary") != "Origin" {
				t.Errorf("Vary %q", w.Header().Get("Vary"))
			}
		})
	}
	if len(pub.dead) != 0 {
		t.Errorf("%d dead letters for refused origins", len(pub.dead))
	}

	// Other protocols' routes get the same check when the key is in the request.
	s.Handle("GET /pixel/v1/track", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	if w := serve(s, "GET", "/pixel/v1/track?writeKey=shopkey", nil, bad); w.Code != 403 {
		t.Errorf("pixel, refused origin: %d", w.Code)
	}
	if w := serve(s, "GET", "/pixel/v1/track?writeKey=shopkey", nil, good); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("pixel, allowed origin: %d %v", w.Code, w.Header())
	}
}
