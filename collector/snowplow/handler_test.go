package snowplow_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/gif"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/snowplow"
	"github.com/touchstream/touchstream/pipeline"
)

var _ snowplow.Acceptor = (*collector.Server)(nil)

// now is the fake collector's clock: 1795176000000 ms.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fake is an Acceptor that records what it is given; its write keys are
// "dev" and "shop".
type fake struct {
	err error // Accept's answer

	mu        sync.Mutex
	events    []pipeline.Event
	dead      []pipeline.Rejected
	endpoints []string
}

func (f *fake) KnownWriteKey(key string) bool { return key == "dev" || key == "shop" }
func (f *fake) Now() time.Time                { return now }

func (f *fake) Accept(_ context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endpoints = append(f.endpoints, endpoint)
	f.dead = append(f.dead, dead...)
	if f.err != nil {
		return f.err
	}
	f.events = append(f.events, events...)
	return nil
}

// serve sends a request through a mux routed as the collector routes the
// Snowplow endpoints.
func serve(t *testing.T, a snowplow.Acceptor, req *http.Request, opts ...snowplow.Option) *httptest.ResponseRecorder {
	t.Helper()
	h := snowplow.Handler(a, opts...)
	mux := http.NewServeMux()
	mux.Handle("POST /com.snowplowanalytics.snowplow/tp2", h)
	mux.Handle("OPTIONS /com.snowplowanalytics.snowplow/tp2", h)
	mux.Handle("GET /i", h)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func post(t *testing.T, target, body string) *http.Request {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	return req
}

func get(t *testing.T, target string) *http.Request {
	t.Helper()
	return httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// payload wraps events in the payload_data envelope, as trackers post them.
func payload(events ...string) string {
	return `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` + strings.Join(events, ",") + `]}`
}

const contexts = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"0f8d2a7e-3c1b-4e5f-9a6d-7b8c9d0e1f2a"}}]}`

// jsPageView is a page view as the JavaScript tracker v3 posts it, for app
// id aid.
func jsPageView(aid, eid string) string {
	return `{"e":"pv","url":"https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=winter","page":"Shop","refr":"https://www.google.com/",` +
		`"tv":"js-3.23.0","tna":"sp","aid":"` + aid + `","p":"web","tz":"Europe/Berlin","lang":"de-DE","cs":"UTF-8","res":"1920x1080","cd":"24",` +
		`"cookie":"1","eid":"` + eid + `","dtm":"1795175998000","cx":"` + b64(contexts) + `","vp":"1280x720","ds":"1265x4000","vid":"1",` +
		`"sid":"5c3f9e2a-1b4d-4f6e-8a7c-9d0e1f2a3b4c","duid":"d8a6c1e4-5b2f-4c3d-8e9f-0a1b2c3d4e5f","stm":"1795175999000"}`
}

type answer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
	Error string `json:"error"`
}

func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	return a
}

func TestPostBatch(t *testing.T) {
	f := &fake{}
	body := payload(
		jsPageView("shop", "e-1"),
		`{"e":"se","se_ca":"video","se_ac":"play","tv":"js-3.23.0","aid":"shop","p":"web","eid":"e-2","duid":"d-1","dtm":"1795175999000","stm":"1795175999000"}`,
		`{"e":"pv","aid":"shop","p":"web","eid":"e-3"}`,        // no id
		`{"e":"pv","aid":"other-site","p":"web","duid":"d-2"}`, // its app id is not a write key
		`["not","an","event"]`,                                 // not an object
		`{"e":"tr","tr_id":"T-1","tr_tt":"9.90","tr_cu":"EUR","aid":"shop","duid":"d-1","eid":"e-4"}`,
	)
	rec := serve(t, f, post(t, "/com.snowplowanalytics.snowplow/tp2", body))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	a := decodeAnswer(t, rec)
	if a.Accepted != 3 || len(a.Rejected) != 3 || a.Rejected[0].Index != 2 || a.Rejected[1].Index != 3 || a.Rejected[2].Index != 4 {
		t.Fatalf("answer %s", rec.Body)
	}
	if len(f.endpoints) != 1 || f.endpoints[0] != "/com.snowplowanalytics.snowplow/tp2" {
		t.Errorf("Accept calls %v, want one for the batch", f.endpoints)
	}

	if len(f.events) != 3 {
		t.Fatalf("%d events", len(f.events))
	}
	pv, se, tr := f.events[0], f.events[1], f.events[2]
	if pv.Type != "page" || pv.EventName != "Shop" || pv.MessageID != "e-1" || pv.WriteKey != "shop" ||
		pv.VisitorID != "d8a6c1e4-5b2f-4c3d-8e9f-0a1b2c3d4e5f" || pv.UTMSource != "google" || pv.UTMMedium != "cpc" ||
		pv.UTMCampaign != "winter" || pv.PagePath != "/" || pv.Referrer != "https://www.google.com/" ||
		!pv.EventTime.Equal(now.Add(-time.Second)) || !pv.ReceivedAt.Equal(now) || pv.Touchpoint != "web" {
		t.Errorf("page view %+v", pv)
	}
	if se.Type != "track" || se.EventName != "play" || !se.EventTime.Equal(now) {
		t.Errorf("structured %+v", se)
	}
	if !tr.IsConversion() || tr.Revenue != 9.9 || tr.OrderID != "T-1" || tr.Currency != "EUR" {
		t.Errorf("transaction %+v", tr)
	}

	wantDead := []struct {
		index         int
		key, err, has string
	}{
		{2, "shop", "duid, nuid, tnuid or uid is required (or a client_session entity with userId)", `"eid":"e-3"`},
		{3, "", `unknown write key: app id "other-site" is not a write key and the request names none`, `"other-site"`},
		{4, "", "event: must be a JSON object", `["not","an","event"]`},
	}
	if len(f.dead) != len(wantDead) {
		t.Fatalf("%d dead letters", len(f.dead))
	}
	for i, w := range wantDead {
		d := f.dead[i]
		if d.Index != w.index || d.WriteKey != w.key || d.Error != w.err || d.Source != "/com.snowplowanalytics.snowplow/tp2" ||
			!d.ReceivedAt.Equal(now) || !strings.Contains(string(d.Payload), w.has) || a.Rejected[i].Error != w.err {
			t.Errorf("dead letter %d: %+v %s", i, d, d.Payload)
		}
	}
}

func TestPostWriteKey(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		auth    string // Basic auth user
		aid     string
		status  int
		wantKey string
		error   string
	}{
		{name: "app id is a write key", target: "", aid: "shop", status: 200, wantKey: "shop"},
		{name: "app id wins over the request's key", target: "?writeKey=dev", aid: "shop", status: 200, wantKey: "shop"},
		{name: "?writeKey= for an app id that is not a key", target: "?writeKey=dev", aid: "site-1", status: 200, wantKey: "dev"},
		{name: "Basic auth", auth: "dev", aid: "site-1", status: 200, wantKey: "dev"},
		{name: "Basic auth, known app id and unknown request key", auth: "nope", aid: "shop", status: 200, wantKey: "shop"},
		{name: "unknown app id, no key", aid: "site-1", status: 401,
			error: "unknown write key: neither an app id (aid) nor the request (Basic auth user, ?writeKey=) names a known write key"},
		{name: "unknown app id, unknown key", target: "?writeKey=nope", aid: "site-1", status: 401,
			error: "unknown write key: neither an app id (aid) nor the request (Basic auth user, ?writeKey=) names a known write key"},
		{name: "no app id, no key", status: 401,
			error: "write key required: an app id (aid) that is a write key, the Basic auth user or ?writeKey="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			ev := `{"e":"pv","p":"web","duid":"d-1","eid":"e-1"}`
			if tt.aid != "" {
				ev = `{"e":"pv","p":"web","duid":"d-1","eid":"e-1","aid":"` + tt.aid + `"}`
			}
			req := post(t, "/com.snowplowanalytics.snowplow/tp2"+tt.target, payload(ev))
			if tt.auth != "" {
				req.SetBasicAuth(tt.auth, "")
			}
			rec := serve(t, f, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if tt.status != 200 {
				if a := decodeAnswer(t, rec); a.Error != tt.error {
					t.Errorf("error %q, want %q", a.Error, tt.error)
				}
				if len(f.endpoints) != 0 {
					t.Error("a request without a write key reached Accept")
				}
				return
			}
			if len(f.events) != 1 || f.events[0].WriteKey != tt.wantKey {
				t.Errorf("events %+v", f.events)
			}
		})
	}
}

func TestPostRefused(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(" ", 600<<10)))
	zw.Close()
	tests := []struct {
		name     string
		target   string
		body     string
		encoding string
		status   int
		error    string
		dead     bool // a dead letter, since the request named a known write key
	}{
		{"not JSON", "?writeKey=dev", "e=pv&aid=shop", "", 400, "body: must be a payload_data self-describing JSON: " +
			`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{...}]}`, true},
		{"not JSON, no key", "", "e=pv&aid=shop", "", 400, "body: must be a payload_data self-describing JSON: " +
			`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{...}]}`, false},
		{"another schema", "?writeKey=dev", `{"schema":"iglu:com.acme/batch/jsonschema/1-0-0","data":[]}`, "", 400,
			`body: schema "iglu:com.acme/batch/jsonschema/1-0-0" is not payload_data`, true},
		{"too large", "?writeKey=dev", `{"data":[` + strings.Repeat(`{},`, 200<<10) + `{}]}`, "", 413, "body: larger than 512000 bytes", true},
		{"too large once gunzipped", "?writeKey=dev", gz.String(), "gzip", 413, "body: larger than 512000 bytes", true},
		{"not gzip", "?writeKey=dev", payload(), "gzip", 400, "body: invalid gzip: gzip: invalid header", true},
		{"brotli", "?writeKey=dev", payload(), "br", 415, "content-encoding: br is not supported (use gzip or none)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			req := post(t, "/com.snowplowanalytics.snowplow/tp2"+tt.target, tt.body)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			rec := serve(t, f, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if a := decodeAnswer(t, rec); a.Error != tt.error {
				t.Errorf("error %q, want %q", a.Error, tt.error)
			}
			if len(f.events) != 0 {
				t.Errorf("events %+v", f.events)
			}
			if !tt.dead {
				if len(f.dead) != 0 {
					t.Errorf("dead letters %+v without a write key", f.dead)
				}
				return
			}
			if len(f.dead) != 1 || f.dead[0].Index != -1 || f.dead[0].WriteKey != "dev" || f.dead[0].Error != tt.error {
				t.Errorf("dead letters %+v", f.dead)
			}
		})
	}
}

func TestPostGzip(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(payload(jsPageView("shop", "e-1"), jsPageView("shop", "e-2"))))
	zw.Close()
	f := &fake{}
	req := post(t, "/com.snowplowanalytics.snowplow/tp2", gz.String())
	req.Header.Set("Content-Encoding", "gzip")
	rec := serve(t, f, req)
	if rec.Code != 200 || len(f.events) != 2 {
		t.Errorf("status %d, %d events: %s", rec.Code, len(f.events), rec.Body)
	}
}

func TestPostEventTooLarge(t *testing.T) {
	f := &fake{}
	big := `{"e":"se","se_ac":"x","aid":"shop","duid":"d","se_la":"` + strings.Repeat("x", 32<<10) + `"}`
	rec := serve(t, f, post(t, "/com.snowplowanalytics.snowplow/tp2", payload(big, jsPageView("shop", "e-1"))))
	if rec.Code != 200 || len(f.events) != 1 || len(f.dead) != 1 {
		t.Fatalf("status %d, %d events, %d dead letters", rec.Code, len(f.events), len(f.dead))
	}
	// Its app id is unread, so it has the request's write key: none.
	if d := f.dead[0]; d.Error != "event: larger than 32768 bytes" || d.Payload != nil || d.Index != 0 {
		t.Errorf("dead letter %+v", d)
	}
}

func TestPostKafkaDown(t *testing.T) {
	f := &fake{err: errors.New("kafka: no leader")}
	rec := serve(t, f, post(t, "/com.snowplowanalytics.snowplow/tp2", payload(jsPageView("shop", "e-1"))))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestPostEmpty(t *testing.T) {
	f := &fake{}
	rec := serve(t, f, post(t, "/com.snowplowanalytics.snowplow/tp2?writeKey=dev", payload()))
	if rec.Code != 200 || rec.Body.String() != `{"accepted":0,"rejected":[]}`+"\n" {
		t.Errorf("status %d %q", rec.Code, rec.Body)
	}
}

func TestCORS(t *testing.T) {
	f := &fake{}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodOptions, "/com.snowplowanalytics.snowplow/tp2", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,sp-anonymous")
	rec := serve(t, f, req)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      "https://shop.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Headers":     "content-type,sp-anonymous",
		"Access-Control-Allow-Methods":     "POST, GET, OPTIONS",
		"Vary":                             "Origin",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("preflight %s: %q, want %q", k, got, want)
		}
	}
	if rec.Code != http.StatusNoContent || len(f.endpoints) != 0 {
		t.Errorf("preflight: status %d, Accept called %d times", rec.Code, len(f.endpoints))
	}

	req = post(t, "/com.snowplowanalytics.snowplow/tp2", payload(jsPageView("shop", "e-1")))
	req.Header.Set("Origin", "https://shop.example")
	rec = serve(t, f, req)
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" || rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("POST CORS headers %v", rec.Header())
	}
	req = get(t, "/i?e=pv&aid=shop&duid=d")
	req.Header.Set("Origin", "https://shop.example")
	if rec = serve(t, f, req); rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("GET CORS headers %v", rec.Header())
	}
}

// transparentGIF is the 1x1 transparent GIF89a every GET answer carries.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func checkGIF(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if !bytes.Equal(rec.Body.Bytes(), transparentGIF) {
		t.Errorf("body %q, want the 43-byte GIF", rec.Body.Bytes())
	}
	if _, err := gif.Decode(bytes.NewReader(rec.Body.Bytes())); err != nil {
		t.Errorf("GIF: %v", err)
	}
	for k, want := range map[string]string{
		"Content-Type":   "image/gif",
		"Content-Length": "43",
		"Cache-Control":  "no-cache, no-store, must-revalidate, private, max-age=0",
		"Pragma":         "no-cache",
		"Expires":        "0",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func TestGet(t *testing.T) {
	// As the JavaScript tracker in GET mode sends a structured event: stm
	// first, the contexts last.
	q := "stm=1795176000000&e=se&se_ca=video&se_ac=play&se_la=intro&se_va=3&eid=e-9&tv=js-3.23.0&tna=sp&aid=shop&p=web" +
		"&url=" + url.QueryEscape("https://shop.example/video?utm_source=fb&utm_medium=social&utm_campaign=launch") +
		"&dtm=1795175995000&vid=2&sid=s-1&duid=d-1&uid=u-1&cx=" + b64(contexts)
	f := &fake{}
	rec := serve(t, f, get(t, "/i?"+q))
	if rec.Code != 200 || rec.Header().Get("X-Touchstream-Error") != "" {
		t.Fatalf("status %d, error %q", rec.Code, rec.Header().Get("X-Touchstream-Error"))
	}
	checkGIF(t, rec)
	if len(f.events) != 1 || f.endpoints[0] != "/i" {
		t.Fatalf("events %+v, endpoints %v", f.events, f.endpoints)
	}
	ev := f.events[0]
	if ev.Type != "track" || ev.EventName != "play" || ev.MessageID != "e-9" || ev.VisitorID != "d-1" || ev.UserID != "u-1" ||
		ev.WriteKey != "shop" || !ev.EventTime.Equal(now.Add(-5*time.Second)) || ev.UTMCampaign != "launch" || ev.UTMMedium != "social" ||
		ev.PagePath != "/video" || ev.LibraryName != "snowplow-js" {
		t.Errorf("event %+v", ev)
	}
	var props struct {
		Value    float64 `json:"value"`
		Snowplow struct {
			Contexts []json.RawMessage `json:"contexts"`
		} `json:"snowplow"`
	}
	if err := json.Unmarshal(ev.Properties, &props); err != nil || props.Value != 3 || len(props.Snowplow.Contexts) != 1 {
		t.Errorf("properties %s (%v)", ev.Properties, err)
	}
}

func TestGetStandardBase64WithPlus(t *testing.T) {
	// A tracker using the standard alphabet whose + was not
	// percent-encoded: the query string decodes it to a space.
	ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"plan":">>>"}}}`
	px := base64.StdEncoding.EncodeToString([]byte(ue))
	if !strings.ContainsAny(px, "+/") {
		t.Fatalf("fixture %q has no + or /", px)
	}
	f := &fake{}
	rec := serve(t, f, get(t, "/i?e=ue&aid=shop&uid=u-1&ue_px="+strings.ReplaceAll(px, "/", "%2F")))
	if rec.Code != 200 || len(f.events) != 1 || f.events[0].EventName != "signup" {
		t.Errorf("status %d, error %q, events %+v", rec.Code, rec.Header().Get("X-Touchstream-Error"), f.events)
	}
}

func TestGetRefused(t *testing.T) {
	tests := []struct {
		name, query, error string
	}{
		{"no id", "e=pv&aid=shop", "duid, nuid, tnuid or uid is required (or a client_session entity with userId)"},
		{"no e", "aid=shop&duid=d", "e: required (pv, pp, se, ue, tr or ti)"},
		{"bad ue_px", "e=ue&aid=shop&duid=d&ue_px=" + b64(`{"schema":"x"}`), `ue_px: schema "x" is not an Iglu URI (iglu:vendor/name/format/version)`},
		{"bad escape", "e=pv&aid=shop&duid=d&url=%zz", `query: invalid URL escape "%zz"`},
		{"too large", "e=pv&aid=shop&duid=d&page=" + strings.Repeat("x", 32<<10), "query: larger than 32768 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			rec := serve(t, f, get(t, "/i?"+tt.query))
			if rec.Code != 200 {
				t.Errorf("status %d, want 200: a refused event still shows the image", rec.Code)
			}
			checkGIF(t, rec)
			if got := rec.Header().Get("X-Touchstream-Error"); got != tt.error {
				t.Errorf("X-Touchstream-Error %q, want %q", got, tt.error)
			}
			if len(f.events) != 0 || len(f.dead) != 1 {
				t.Fatalf("%d events, %d dead letters", len(f.events), len(f.dead))
			}
			d := f.dead[0]
			if d.Error != tt.error || d.Source != "/i" || d.WriteKey != "shop" || d.Index != 0 || !d.ReceivedAt.Equal(now) {
				t.Errorf("dead letter %+v", d)
			}
			var payload string
			if tt.name == "too large" {
				if d.Payload != nil {
					t.Errorf("payload of %d bytes kept", len(d.Payload))
				}
			} else if err := json.Unmarshal(d.Payload, &payload); err != nil || payload != tt.query {
				t.Errorf("payload %s (%v), want the raw query", d.Payload, err)
			}
		})
	}
}

func TestGetUnauthorized(t *testing.T) {
	for query, want := range map[string]string{
		"e=pv&duid=d":                   "write key required: an app id (aid) that is a write key, the Basic auth user or ?writeKey=",
		"e=pv&duid=d&aid=site-1":        "unknown write key: neither the app id (aid) nor the request names a known write key",
		"e=pv&duid=d&writeKey=nope":     "unknown write key: neither the app id (aid) nor the request names a known write key",
		"e=pv&duid=d&aid=x&url=%zz":     "unknown write key: neither the app id (aid) nor the request names a known write key",
		"e=pv&duid=d&aid=x&writeKey=ok": "unknown write key: neither the app id (aid) nor the request names a known write key",
	} {
		f := &fake{}
		rec := serve(t, f, get(t, "/i?"+query))
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("X-Touchstream-Error") != want {
			t.Errorf("%s: status %d, error %q", query, rec.Code, rec.Header().Get("X-Touchstream-Error"))
		}
		checkGIF(t, rec)
		if len(f.endpoints) != 0 {
			t.Errorf("%s: Accept called", query)
		}
	}
	// ?writeKey= for an app id that is not one.
	f := &fake{}
	if rec := serve(t, f, get(t, "/i?e=pv&duid=d&aid=site-1&writeKey=dev")); rec.Code != 200 || len(f.events) != 1 || f.events[0].WriteKey != "dev" {
		t.Errorf("status %d, events %+v", rec.Code, f.events)
	}
}

func TestGetHeadAndKafkaDown(t *testing.T) {
	f := &fake{err: errors.New("kafka: no leader")}
	rec := serve(t, f, httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/i?e=pv&aid=shop&duid=d", nil))
	if rec.Code != 200 || len(f.endpoints) != 0 {
		t.Errorf("HEAD: status %d, Accept called %d times", rec.Code, len(f.endpoints))
	}
	rec = serve(t, f, get(t, "/i?e=pv&aid=shop&duid=d"))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	checkGIF(t, rec)
	// A refused event answers 200 whatever happens to its dead letter.
	if rec = serve(t, f, get(t, "/i?e=pv&aid=shop")); rec.Code != 200 {
		t.Errorf("refused event with Kafka down: status %d", rec.Code)
	}
}

func TestPingInterval(t *testing.T) {
	ping := "/i?e=pp&aid=shop&duid=d&url=https%3A%2F%2Fshop.example%2F&pp_miy=0&pp_may=900"
	for _, tt := range []struct {
		opts []snowplow.Option
		want int64
	}{
		{nil, 10000},
		{[]snowplow.Option{snowplow.WithPingInterval(5 * time.Second)}, 5000},
		{[]snowplow.Option{snowplow.WithPingInterval(0)}, 0},
		{[]snowplow.Option{snowplow.WithPingInterval(-time.Second)}, 0},
	} {
		f := &fake{}
		serve(t, f, get(t, ping), tt.opts...)
		if len(f.events) != 1 || f.events[0].EventName != "Page Ping" || f.events[0].EngagementMS != tt.want {
			t.Errorf("%d options: events %+v, want engagement %d", len(tt.opts), f.events, tt.want)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	// Mounted without a method in the pattern, the handler refuses the rest.
	rec := httptest.NewRecorder()
	snowplow.Handler(&fake{}).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPut, "/i", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// TestAllEventTypesOverPost posts one event of every type, as one batch.
func TestAllEventTypesOverPost(t *testing.T) {
	common := `"aid":"shop","p":"web","tv":"js-3.23.0","duid":"d-1","dtm":"1795175990000","stm":"1795176000000"`
	ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2","data":{"type":"add_to_cart"}}}`
	events := []string{
		`{"e":"pv","page":"Home","url":"https://shop.example/",` + common + `}`,
		`{"e":"pp","pp_mix":"0","pp_max":"0","pp_miy":"0","pp_may":"400","url":"https://shop.example/",` + common + `}`,
		`{"e":"se","se_ca":"nav","se_ac":"open-menu",` + common + `}`,
		`{"e":"ue","ue_px":"` + b64(ue) + `",` + common + `}`,
		`{"e":"tr","tr_id":"T-2","tr_tt":"20","tr_cu":"USD",` + common + `}`,
		`{"e":"ti","ti_id":"T-2","ti_sk":"s","ti_pr":"10","ti_qu":"2",` + common + `}`,
	}
	f := &fake{}
	rec := serve(t, f, post(t, "/com.snowplowanalytics.snowplow/tp2", payload(events...)))
	if rec.Code != 200 {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	var got []string
	for _, e := range f.events {
		got = append(got, e.Type+":"+e.EventName)
		if !e.EventTime.Equal(now.Add(-10 * time.Second)) {
			t.Errorf("%s: event time %v", e.EventName, e.EventTime)
		}
	}
	want := "page:Home track:Page Ping track:open-menu track:Product Added track:Order Completed track:Order Item"
	if strings.Join(got, " ") != want {
		t.Errorf("events %q, want %q", strings.Join(got, " "), want)
	}
	if len(f.dead) != 0 {
		t.Errorf("dead letters %+v", f.dead)
	}
}

// TestUserAgent: the payload's ua, else the request's User-Agent, gives the
// event's device type, browser and os; the mobile context's osType wins.
func TestUserAgent(t *testing.T) {
	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	const windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	f := &fake{}
	req := get(t, "/i?e=pv&aid=dev&eid=11111111-1111-4111-8111-111111111111&duid=d1&url=https%3A%2F%2Fshop.test%2F")
	req.Header.Set("User-Agent", windows)
	serve(t, f, req)
	req = get(t, "/i?e=pv&aid=dev&eid=22222222-2222-4222-8222-222222222222&duid=d1&url=https%3A%2F%2Fshop.test%2F&ua="+url.QueryEscape(iphone))
	req.Header.Set("User-Agent", windows)
	serve(t, f, req)
	if len(f.events) != 2 {
		t.Fatalf("%d events (%v), want 2", len(f.events), f.dead)
	}
	for i, want := range [][3]string{{"desktop", "Chrome", "Windows"}, {"mobile", "Safari", "iOS"}} {
		e := f.events[i]
		if got := [3]string{e.DeviceType, e.Browser, e.OS}; got != want {
			t.Errorf("event %d: device, browser, os = %q, want %q", i, got, want)
		}
	}
}
