package collector_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	embeddedkafka "github.com/touchstream/touchstream/embedded/kafka"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
)

const partitions = 4

// stack is a collector in front of a real embedded Kafka.
type stack struct {
	kafka string // broker address
	url   string // collector base URL
	reg   *prometheus.Registry
}

func newStack(t *testing.T, configure func(*collector.Config)) *stack {
	t.Helper()
	addr := testenv.Kafka(t, partitions)
	return newStackOn(t, addr, configure)
}

func newStackOn(t *testing.T, kafkaAddr string, configure func(*collector.Config)) *stack {
	t.Helper()
	pub := kafka.NewPublisher([]string{kafkaAddr}, nil)
	t.Cleanup(func() { pub.Close() })
	cfg := collector.DefaultConfig()
	cfg.WriteKeys = []string{"dev", "shop"}
	if configure != nil {
		configure(&cfg)
	}
	reg := prometheus.NewRegistry()
	srv, err := collector.New(cfg, pub, reg, nil)
	if err != nil {
		t.Fatalf("new collector: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &stack{kafka: kafkaAddr, url: hs.URL, reg: reg}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) answer(t *testing.T) (accepted int, rejected []map[string]any) {
	t.Helper()
	var a struct {
		Accepted int              `json:"accepted"`
		Rejected []map[string]any `json:"rejected"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	if a.Rejected == nil {
		t.Fatalf("answer %s: rejected is not a list", r.body)
	}
	return a.Accepted, a.Rejected
}

func (r response) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("answer %d %s is not a JSON error", r.status, r.body)
	}
	return e.Error
}

// post sends body; headers are "Name: value" strings.
func (s *stack) post(t *testing.T, path string, body []byte, headers ...string) response {
	t.Helper()
	return s.do(t, http.MethodPost, path, bytes.NewReader(body), headers...)
}

func (s *stack) do(t *testing.T, method, path string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

func (s *stack) get(t *testing.T, path string) response {
	return s.do(t, http.MethodGet, path, nil)
}

// published is one message on clickstream.events.
type published struct {
	pipeline.Event
	key       string
	partition int
}

func (s *stack) events(t *testing.T) map[string]published {
	t.Helper()
	out := map[string]published{}
	for _, m := range testenv.ReadTopic(t, s.kafka, pipeline.TopicEvents) {
		var ev pipeline.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("event %s: %v", m.Value, err)
		}
		if _, dup := out[ev.MessageID]; dup {
			t.Errorf("message %s published twice", ev.MessageID)
		}
		out[ev.MessageID] = published{ev, string(m.Key), m.Partition}
	}
	return out
}

func (s *stack) deadLetters(t *testing.T) []pipeline.Rejected {
	t.Helper()
	var out []pipeline.Rejected
	for _, m := range testenv.ReadTopic(t, s.kafka, pipeline.TopicRejected) {
		var r pipeline.Rejected
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatalf("dead letter %s: %v", m.Value, err)
		}
		out = append(out, r)
	}
	return out
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	tests := []struct {
		path, body, wantType, wantName string
	}{
		{"/v1/track", `{"event":"Product Viewed","anonymousId":"a"}`, "track", "Product Viewed"},
		{"/v1/t", `{"event":"Product Added","anonymousId":"a"}`, "track", "Product Added"},
		{"/v1/page", `{"name":"Home","anonymousId":"a"}`, "page", "Home"},
		{"/v1/p", `{"anonymousId":"a"}`, "page", ""},
		{"/v1/screen", `{"name":"Cart","anonymousId":"a"}`, "screen", "Cart"},
		{"/v1/s", `{"name":"Checkout","anonymousId":"a"}`, "screen", "Checkout"},
		{"/v1/identify", `{"userId":"u","anonymousId":"a","traits":{"email":"e@x.test"}}`, "identify", ""},
		{"/v1/i", `{"userId":"u"}`, "identify", ""},
		{"/v1/group", `{"userId":"u","groupId":"g","traits":{"plan":"pro"}}`, "group", ""},
		{"/v1/g", `{"userId":"u","groupId":"g"}`, "group", ""},
		{"/v1/alias", `{"userId":"u","previousId":"a"}`, "alias", ""},
		{"/v1/a", `{"userId":"u","previousId":"a"}`, "alias", ""},
		{"/v1/batch", `{"batch":[{"type":"track","event":"Checkout Started","anonymousId":"a"}]}`, "track", "Checkout Started"},
		{"/v1/b", `{"batch":[{"type":"page","name":"Deals","anonymousId":"a"}]}`, "page", "Deals"},
		{"/v1/import", `{"batch":[{"type":"screen","name":"Feed","anonymousId":"a"}]}`, "screen", "Feed"},
	}
	for i, tt := range tests {
		id := fmt.Sprintf("endpoint-%d", i)
		body := strings.Replace(tt.body, `"anonymousId"`, `"messageId":"`+id+`","anonymousId"`, 1)
		body = strings.Replace(body, `{"userId"`, `{"messageId":"`+id+`","userId"`, 1)
		r := s.post(t, tt.path+"?writeKey=dev", []byte(body))
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", tt.path, r.status, r.body)
			continue
		}
		if acc, rej := r.answer(t); acc != 1 || len(rej) != 0 {
			t.Errorf("%s: answer %s", tt.path, r.body)
		}
	}
	got := s.events(t)
	for i, tt := range tests {
		ev, ok := got[fmt.Sprintf("endpoint-%d", i)]
		if !ok {
			t.Errorf("%s: nothing published", tt.path)
			continue
		}
		if ev.Type != tt.wantType || ev.EventName != tt.wantName || ev.WriteKey != "dev" || ev.Touchpoint != "web" {
			t.Errorf("%s: published %+v", tt.path, ev.Event)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("%d events published, want %d", len(got), len(tests))
	}
}

func TestAnalyticsMetricsDropped(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	if r := s.post(t, "/v1/m", []byte(`{"series":[{"type":"Counter","metric":"analytics_js.invoke","value":1}]}`)); r.status != http.StatusOK {
		t.Errorf("/v1/m: %d %s", r.status, r.body)
	}
	if n := len(s.events(t)) + len(s.deadLetters(t)); n != 0 {
		t.Errorf("/v1/m published %d messages", n)
	}
}

func TestWriteKey(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	event := func(id string) string { return `{"event":"E","anonymousId":"a","messageId":"` + id + `"}` }
	tests := []struct {
		name, path, body string
		headers          []string
		status           int
		key              string
	}{
		{"basic auth user", "/v1/track", event("basic"), []string{"Authorization: Basic ZGV2Og=="}, 200, "dev"},             // dev:
		{"basic auth password only", "/v1/track", event("basicpw"), []string{"Authorization: Basic OnNob3A="}, 200, "shop"}, // :shop
		{"body writeKey", "/v1/track", `{"writeKey":"shop","event":"E","anonymousId":"a","messageId":"body"}`, nil, 200, "shop"},
		{"batch writeKey", "/v1/batch", `{"writeKey":"dev","batch":[` + strings.Replace(event("batchkey"), "{", `{"type":"track",`, 1) + `]}`, nil, 200, "dev"},
		{"event writeKey in a batch", "/v1/b", `{"batch":[{"type":"track","writeKey":"shop","event":"E","anonymousId":"a","messageId":"eventkey"}]}`, nil, 200, "shop"},
		{"query writeKey", "/v1/track?writeKey=shop", event("query"), nil, 200, "shop"},
		{"unknown basic key", "/v1/track", event("x1"), []string{"Authorization: Basic bm9wZTo="}, 401, ""}, // nope:
		{"unknown body key", "/v1/track", `{"writeKey":"nope","event":"E","anonymousId":"a"}`, nil, 401, ""},
		{"unknown query key", "/v1/track?writeKey=nope", event("x2"), nil, 401, ""},
		{"no key", "/v1/track", event("x3"), nil, 401, ""},
		{"no key, garbage body", "/v1/batch", `{"batch":[`, nil, 400, ""},
	}
	for _, tt := range tests {
		r := s.post(t, tt.path, []byte(tt.body), tt.headers...)
		if r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
		if r.status != 200 {
			r.errorText(t)
		}
	}
	got := s.events(t)
	for _, tt := range tests {
		if tt.status != 200 {
			continue
		}
		id := map[string]string{"basic auth user": "basic", "basic auth password only": "basicpw", "body writeKey": "body",
			"batch writeKey": "batchkey", "event writeKey in a batch": "eventkey", "query writeKey": "query"}[tt.name]
		if ev, ok := got[id]; !ok || ev.WriteKey != tt.key {
			t.Errorf("%s: published %+v, want write key %q", tt.name, ev.Event, tt.key)
		}
	}
	if len(got) != 6 {
		t.Errorf("%d events published, want 6", len(got))
	}
	if d := s.deadLetters(t); len(d) != 0 {
		t.Errorf("unauthenticated requests reached the dead letters: %+v", d)
	}
}

func TestContentTypes(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	types := []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "application/json", "application/octet-stream", ""}
	for i, ct := range types {
		body := fmt.Sprintf(`{"batch":[{"type":"track","event":"E","anonymousId":"a","messageId":"ct-%d"}],"writeKey":"dev"}`, i)
		var headers []string
		if ct != "" {
			headers = append(headers, "Content-Type: "+ct)
		}
		if r := s.post(t, "/v1/batch", []byte(body), headers...); r.status != 200 {
			t.Errorf("content type %q: %d %s", ct, r.status, r.body)
		}
	}
	if n := len(s.events(t)); n != len(types) {
		t.Errorf("%d events published, want %d", n, len(types))
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	body := []byte(`{"batch":[{"type":"track","event":"E","anonymousId":"a","messageId":"gz"}]}`)
	if r := s.post(t, "/v1/batch?writeKey=dev", gz(t, body), "Content-Encoding: gzip", "Content-Type: text/plain"); r.status != 200 {
		t.Errorf("gzip: %d %s", r.status, r.body)
	}
	// 10 MB of JSON whitespace in 10 KB: refused once 500 KB are inflated.
	bomb := gz(t, append(append([]byte(`{"batch":[`), bytes.Repeat([]byte(" "), 10<<20)...), "]}"...))
	if r := s.post(t, "/v1/batch?writeKey=dev", bomb, "Content-Encoding: gzip"); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb (%d bytes): %d %s", len(bomb), r.status, r.body)
	} else {
		r.errorText(t)
	}
	if r := s.post(t, "/v1/batch?writeKey=dev", []byte("not gzip at all"), "Content-Encoding: gzip"); r.status != http.StatusBadRequest {
		t.Errorf("bad gzip: %d %s", r.status, r.body)
	}
	if r := s.post(t, "/v1/batch?writeKey=dev", body, "Content-Encoding: br"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("br: %d %s", r.status, r.body)
	}
	if got := s.events(t); len(got) != 1 || got["gz"].EventName != "E" {
		t.Errorf("published %+v", got)
	}
}

func TestBatchContextMerge(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	body := `{"writeKey":"dev","context":{"library":{"name":"analytics-android"},"device":{"type":"phone"},"os":{"name":"Android"},
		"campaign":{"source":"newsletter","medium":"email","name":"bf"},"page":{"url":"https://shop.test/a","referrer":"https://mail.test/"}},
	"batch":[
		{"type":"screen","name":"Home","anonymousId":"a","messageId":"inherits"},
		{"type":"track","event":"E","anonymousId":"a","messageId":"own","context":{"campaign":{"source":"push"},"library":{"name":"analytics-python"},"device":null}}
	]}`
	r := s.post(t, "/v1/batch", []byte(body))
	if acc, _ := r.answer(t); r.status != 200 || acc != 2 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := s.events(t)
	in := got["inherits"]
	if in.LibraryName != "analytics-android" || in.Touchpoint != "app" || in.DeviceType != "phone" || in.OS != "Android" ||
		in.UTMSource != "newsletter" || in.UTMMedium != "email" || in.UTMCampaign != "bf" ||
		in.PageURL != "https://shop.test/a" || in.PagePath != "/a" || in.Referrer != "https://mail.test/" {
		t.Errorf("inherits: %+v", in.Event)
	}
	own := got["own"]
	// The event's keys win whole: its campaign has no medium, its device none.
	if own.LibraryName != "analytics-python" || own.Touchpoint != "server" || own.DeviceType != "" || own.OS != "Android" ||
		own.UTMSource != "push" || own.UTMMedium != "" || own.UTMCampaign != "" || own.PageURL != "https://shop.test/a" {
		t.Errorf("own: %+v", own.Event)
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	// The device's clock is two days and some behind; it sent 3.25 s after
	// the event happened.
	orig := time.Date(2026, 11, 18, 7, 15, 0, 500e6, time.UTC)
	sent := orig.Add(3250 * time.Millisecond)
	body := fmt.Sprintf(`{"writeKey":"dev","sentAt":%q,"batch":[
		{"type":"track","event":"E","anonymousId":"a","messageId":"skewed","originalTimestamp":%q},
		{"type":"track","event":"E","anonymousId":"a","messageId":"exact","timestamp":"2026-11-20T10:00:00.250+02:00","originalTimestamp":%q},
		{"type":"track","event":"E","anonymousId":"a","messageId":"none"}]}`,
		sent.Format(time.RFC3339Nano), orig.Format(time.RFC3339Nano), orig.Format(time.RFC3339Nano))
	before := time.Now().Truncate(time.Millisecond)
	r := s.post(t, "/v1/batch", []byte(body))
	after := time.Now()
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := s.events(t)
	sk := got["skewed"]
	if sk.ReceivedAt.Before(before) || sk.ReceivedAt.After(after) {
		t.Errorf("received_at %s not within the request (%s .. %s)", sk.ReceivedAt, before, after)
	}
	if want := sk.ReceivedAt.Add(-3250 * time.Millisecond); !sk.EventTime.Equal(want) {
		t.Errorf("event_time %s, want received_at - (sentAt - originalTimestamp) = %s", sk.EventTime.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if want := time.Date(2026, 11, 20, 8, 0, 0, 250e6, time.UTC); !got["exact"].EventTime.Equal(want) {
		t.Errorf("timestamp: event_time %s, want %s", got["exact"].EventTime, want)
	}
	if n := got["none"]; !n.EventTime.Equal(n.ReceivedAt) {
		t.Errorf("no time: event_time %s, want received_at %s", n.EventTime, n.ReceivedAt)
	}
}

func TestPartialBatch(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	bad := `{"type":"track","event":"Product Added","messageId":"bad","properties":{"sku":"x"}}`
	body := `{"batch":[
		{"type":"track","event":"Product Added","anonymousId":"visitor-7","messageId":"good-1","properties":{"cart_id":"c1","revenue":10}},
		` + bad + `,
		{"type":"track","event":"Checkout Started","anonymousId":"visitor-7","messageId":"good-2","properties":{"cart_id":"c1"}}]}`
	r := s.post(t, "/v1/batch", []byte(body), "Authorization: Basic ZGV2Og==")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	acc, rej := r.answer(t)
	if acc != 2 || len(rej) != 1 || rej[0]["index"] != float64(1) || rej[0]["error"] != "anonymousId or userId is required" {
		t.Errorf("answer %s", r.body)
	}
	got := s.events(t)
	if len(got) != 2 {
		t.Fatalf("%d events published, want 2", len(got))
	}
	g1, g2 := got["good-1"], got["good-2"]
	if g1.key != "visitor-7" || g2.key != "visitor-7" {
		t.Errorf("keys %q %q, want the visitor id", g1.key, g2.key)
	}
	if g1.partition != g2.partition {
		t.Errorf("one visitor on partitions %d and %d", g1.partition, g2.partition)
	}
	if g1.CartID != "c1" || g1.Revenue != 10 || g2.EventName != "Checkout Started" {
		t.Errorf("published %+v %+v", g1.Event, g2.Event)
	}
	dead := s.deadLetters(t)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	d := dead[0]
	var payload, want any
	json.Unmarshal(d.Payload, &payload)
	json.Unmarshal([]byte(bad), &want)
	if d.Index != 1 || d.Error != "anonymousId or userId is required" || d.Source != "/v1/batch" || d.WriteKey != "dev" ||
		fmt.Sprint(payload) != fmt.Sprint(want) || !d.ReceivedAt.Equal(g1.ReceivedAt) {
		t.Errorf("dead letter %+v (payload %s)", d, d.Payload)
	}
}

func TestSingleEventRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	r := s.post(t, "/v1/track?writeKey=dev", []byte(`{"event":"E"}`))
	if r.status != http.StatusBadRequest || r.errorText(t) != "anonymousId or userId is required" {
		t.Errorf("%d %s", r.status, r.body)
	}
	if d := s.deadLetters(t); len(d) != 1 || d[0].Index != 0 || d[0].Source != "/v1/track" {
		t.Errorf("dead letters %+v", d)
	}
}

func TestGarbage(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	bodies := []string{"", "not json", "{", "[1,2]", `{"batch":5}`, `{"batch":[],"context":"x"}`, "\x00\xff\xfe", `"batch"`}
	for _, b := range bodies {
		r := s.post(t, "/v1/batch?writeKey=dev", []byte(b))
		if r.status != http.StatusBadRequest {
			t.Errorf("body %q: %d %s", b, r.status, r.body)
			continue
		}
		r.errorText(t)
	}
	if r := s.post(t, "/v1/track?writeKey=dev", []byte(`{"event":`)); r.status != http.StatusBadRequest {
		t.Errorf("single event: %d %s", r.status, r.body)
	}
	dead := s.deadLetters(t)
	if len(dead) != len(bodies)+1 {
		t.Fatalf("%d dead letters, want %d", len(dead), len(bodies)+1)
	}
	for _, d := range dead {
		if d.Index != -1 || d.WriteKey != "dev" || d.Error == "" {
			t.Errorf("dead letter %+v", d)
		}
		if d.Error == "body: must be a JSON object" && len(d.Payload) > 0 && !json.Valid(d.Payload) {
			t.Errorf("payload %q is not JSON", d.Payload)
		}
	}
	if n := len(s.events(t)); n != 0 {
		t.Errorf("%d events published", n)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	big := strings.Repeat("x", 33<<10)
	// A 33 KB single event.
	r := s.post(t, "/v1/track?writeKey=dev", []byte(`{"event":"E","anonymousId":"a","properties":{"blob":"`+big+`"}}`))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("33 KB event: %d %s", r.status, r.body)
	} else {
		r.errorText(t)
	}
	// A 600 KB batch of small events, with and without Content-Length.
	var events []string
	for i := 0; len(events)*100 < 600<<10; i++ {
		events = append(events, fmt.Sprintf(`{"type":"track","event":"E","anonymousId":"a","properties":{"i":%d,"pad":"%s"}}`, i, strings.Repeat("p", 30)))
	}
	batch := []byte(`{"batch":[` + strings.Join(events, ",") + `]}`)
	if len(batch) < 600<<10 {
		t.Fatalf("batch is %d bytes", len(batch))
	}
	if r := s.post(t, "/v1/batch?writeKey=dev", batch); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("600 KB batch: %d %s", r.status, r.body)
	}
	if r := s.do(t, http.MethodPost, "/v1/batch?writeKey=dev", io.MultiReader(bytes.NewReader(batch))); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("600 KB batch, chunked: %d %s", r.status, r.body)
	}
	// A 33 KB event inside a batch is refused alone.
	r = s.post(t, "/v1/batch?writeKey=dev", []byte(`{"batch":[
		{"type":"track","event":"E","anonymousId":"a","properties":{"blob":"`+big+`"}},
		{"type":"track","event":"E","anonymousId":"a","messageId":"small"}]}`))
	if r.status != 200 {
		t.Fatalf("batch with a 33 KB event: %d %s", r.status, r.body)
	}
	if acc, rej := r.answer(t); acc != 1 || len(rej) != 1 || rej[0]["index"] != float64(0) || !strings.Contains(rej[0]["error"].(string), "larger than 32768 bytes") {
		t.Errorf("answer %s", r.body)
	}
	if got := s.events(t); len(got) != 1 || got["small"].MessageID != "small" {
		t.Errorf("published %v", got)
	}
}

func TestKafkaDown(t *testing.T) {
	t.Parallel()
	b, err := embeddedkafka.Start(embeddedkafka.Config{Listen: "127.0.0.1:0", Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	s := newStackOn(t, b.Addr(), func(c *collector.Config) { c.PublishTimeout = 2 * time.Second })
	body := []byte(`{"batch":[{"type":"track","event":"E","anonymousId":"a"}]}`)
	if r := s.post(t, "/v1/batch?writeKey=dev", body); r.status != 200 {
		t.Fatalf("with Kafka up: %d %s", r.status, r.body)
	}
	b.Close()
	start := time.Now()
	r := s.post(t, "/v1/batch?writeKey=dev", body)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "5" {
		t.Errorf("with Kafka down: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	r.errorText(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %s; the publish timeout is 2s", d)
	}
	deadline := time.Now().Add(15 * time.Second)
	for s.get(t, "/readyz").status != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still 200 with Kafka down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := s.get(t, "/healthz"); r.status != 200 {
		t.Errorf("/healthz with Kafka down: %d", r.status)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	if r := s.get(t, "/healthz"); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Errorf("/healthz: %d %s", r.status, r.body)
	}
	if r := s.get(t, "/readyz"); r.status != 200 || !strings.Contains(string(r.body), `"ready"`) {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
	s.post(t, "/v1/batch?writeKey=dev", []byte(`{"batch":[{"type":"page","anonymousId":"a"},{"type":"page"},{"type":"nope","anonymousId":"a"}]}`))
	s.post(t, "/v1/t?writeKey=dev", []byte(`{"event":"E","anonymousId":"a"}`))
	s.post(t, "/v1/track?writeKey=nope", []byte(`{}`))
	s.post(t, "/v1/batch?writeKey=dev", []byte(`garbage`))
	r := s.get(t, "/metrics")
	if r.status != 200 {
		t.Fatalf("/metrics: %d", r.status)
	}
	for _, want := range []string{
		`touchstream_collector_events_received_total{endpoint="/v1/batch"} 3`,
		`touchstream_collector_events_received_total{endpoint="/v1/track"} 1`,
		`touchstream_collector_events_rejected_total{reason="missing_id"} 1`,
		`touchstream_collector_events_rejected_total{reason="invalid_type"} 1`,
		`touchstream_collector_events_rejected_total{reason="unauthorized"} 1`,
		`touchstream_collector_events_rejected_total{reason="malformed"} 1`,
		`touchstream_collector_requests_total{code="200",endpoint="/v1/batch"} 1`,
		`touchstream_collector_requests_total{code="200",endpoint="/v1/track"} 1`,
		`touchstream_collector_requests_total{code="401",endpoint="/v1/track"} 1`,
		`touchstream_collector_requests_total{code="400",endpoint="/v1/batch"} 1`,
		`touchstream_collector_publish_duration_seconds_count 2`,
	} {
		if !strings.Contains(string(r.body), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	r := s.do(t, http.MethodOptions, "/v1/t", nil, "Origin: https://shop.test", "Access-Control-Request-Method: POST")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	r = s.post(t, "/v1/t", []byte(`{"writeKey":"dev","event":"E","anonymousId":"a"}`), "Origin: https://shop.test", "Content-Type: text/plain")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("post: %d %v", r.status, r.header)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	addr := testenv.Kafka(t, partitions)
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	srv, err := collector.New(collector.DefaultConfig(), pub, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	res, err := http.Post("http://"+ln.Addr().String()+"/v1/track?writeKey=dev", "text/plain", strings.NewReader(`{"event":"E","anonymousId":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("status %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestNew(t *testing.T) {
	pub := kafka.NewPublisher(nil, nil)
	defer pub.Close()
	reg := prometheus.NewRegistry()
	if _, err := collector.New(collector.DefaultConfig(), pub, reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := collector.New(collector.DefaultConfig(), pub, reg, nil); err == nil {
		t.Error("a second collector on the same registry: no error")
	}
	if _, err := collector.New(collector.DefaultConfig(), nil, nil, nil); err == nil {
		t.Error("no publisher: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := collector.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*collector.Config)
		field string
	}{
		{"listen", func(c *collector.Config) { c.Listen = "8080" }, "listen"},
		{"no keys", func(c *collector.Config) { c.WriteKeys = nil }, "write keys"},
		{"empty key", func(c *collector.Config) { c.WriteKeys = []string{"dev", ""} }, "write keys"},
		{"event limit", func(c *collector.Config) { c.MaxEventBytes = 0 }, "max event bytes"},
		{"batch limit", func(c *collector.Config) { c.MaxBatchBytes = 1000 }, "max batch bytes"},
		{"publish timeout", func(c *collector.Config) { c.PublishTimeout = 0 }, "publish timeout"},
		{"retry after", func(c *collector.Config) { c.RetryAfter = 0 }, "retry after"},
		{"shutdown timeout", func(c *collector.Config) { c.ShutdownTimeout = -1 }, "shutdown timeout"},
	}
	for _, tt := range tests {
		c := collector.DefaultConfig()
		tt.edit(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tt.field+":") {
			t.Errorf("%s: got %v, want an error naming %q", tt.name, err, tt.field)
		}
	}
}
