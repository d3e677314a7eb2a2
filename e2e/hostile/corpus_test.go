package hostile

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

const (
	linkSecret  = "hostile-corpus-link-secret-0123456789abcdef"
	otherSecret = "some-other-link-secret-0123456789abcdef!!"
	chatSecret  = "hostile-corpus-chat-secret"
	chatEnv     = "TOUCHSTREAM_WEBHOOK_GENERIC_CHAT_SECRET"
	clickName   = "Email Link Clicked"
	errorHeader = "X-Touchstream-Error"
	tp2         = "/com.snowplowanalytics.snowplow/tp2"
)

// answerKind says how a route reports its refusal.
type answerKind int

const (
	answerJSON answerKind = iota // {"error":...} or {"accepted":N,"rejected":[...]}
	answerGIF                    // a GIF, the problem in X-Touchstream-Error
	answerText                   // a plain-text body (the click redirect, the mux)
)

// hostileCase is one request of the corpus and its defined answer.
type hostileCase struct {
	name    string
	method  string
	path    string
	header  map[string]string
	auth    string // Basic auth user (the write key); "" sends none
	body    []byte
	status  int
	kind    answerKind
	wantErr string // substring of the JSON error, the GIF's error header or the text body; "" wants none (2xx)
	// For a 200 batch answer: how many were accepted and which indexes
	// were rejected (nil skips the check).
	accepted int
	rejected []int
	location string // for a 302
	// landed are the events (message ids; clicks as "click:"+url) this
	// request must put on clickstream.events; dead are markers each of
	// which must occur in the payload of a dead letter (with an error).
	landed []string
	dead   []string
}

func TestCorpus(t *testing.T) {
	t.Setenv(chatEnv, chatSecret) // before Register: the chat webhook then requires a signature
	cfg := collector.DefaultConfig()
	s := collectortest.New(t, 2, cfg)
	if err := endpoints.Register(s.Server, endpoints.Config{LinkSecrets: [][]byte{[]byte(linkSecret)}}); err != nil {
		t.Fatal(err)
	}
	base := s.Serve(t)
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	cases := corpus(t)
	if len(cases) < 40 {
		t.Fatalf("corpus has %d cases, want at least 40", len(cases))
	}
	var landed, dead []string
	for i, tc := range cases {
		name := fmt.Sprintf("%02d %s", i+1, tc.name)
		landed = append(landed, tc.landed...)
		dead = append(dead, tc.dead...)
		ok := t.Run(name, func(t *testing.T) { runCase(t, client, base, tc) })
		if !ok {
			continue
		}
		// The process stays up after each hostile request.
		if res := do(t, client, base, http.MethodGet, "/healthz", nil, "", nil); res.status != http.StatusOK {
			t.Fatalf("after %s: /healthz answered %d", name, res.status)
		}
	}

	// A final good request is still served.
	final := hostileCase{
		name: "final good batch", method: http.MethodPost, path: "/v1/batch", auth: "dev",
		body:   []byte(`{"batch":[{"type":"track","event":"Final","anonymousId":"v-final","messageId":"final-1"}]}`),
		status: 200, accepted: 1, rejected: []int{}, landed: []string{"final-1"},
	}
	landed = append(landed, final.landed...)
	t.Run("final good request", func(t *testing.T) { runCase(t, client, base, final) })
	if res := do(t, client, base, http.MethodGet, "/healthz", nil, "", nil); res.status != http.StatusOK || !strings.Contains(string(res.body), `"ok"`) {
		t.Fatalf("/healthz: %d %s", res.status, res.body)
	}

	checkTopics(t, s.Kafka, landed, dead)
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, client *http.Client, base, method, path string, header map[string]string, auth string, body []byte) result {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, r)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if auth != "" {
		req.SetBasicAuth(auth, "")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v (the process must stay up)", method, short(path), err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, short(path), err)
	}
	return result{res.StatusCode, res.Header, b}
}

func runCase(t *testing.T, client *http.Client, base string, tc hostileCase) {
	res := do(t, client, base, tc.method, tc.path, tc.header, tc.auth, tc.body)
	if res.status >= 500 {
		t.Fatalf("answered %d (a server error): %s", res.status, short(string(res.body)))
	}
	if res.status != tc.status {
		t.Fatalf("status %d, want %d; headers %v body %s", res.status, tc.status, res.header, short(string(res.body)))
	}
	if tc.location != "" && res.header.Get("Location") != tc.location {
		t.Errorf("Location %q, want %q", res.header.Get("Location"), tc.location)
	}
	switch tc.kind {
	case answerGIF:
		if ct := res.header.Get("Content-Type"); ct != "image/gif" {
			t.Errorf("Content-Type %q, want image/gif", ct)
		}
		got := res.header.Get(errorHeader)
		if tc.wantErr == "" && got != "" {
			t.Errorf("%s %q, want none", errorHeader, got)
		}
		if !strings.Contains(got, tc.wantErr) {
			t.Errorf("%s %q, want it to contain %q", errorHeader, got, tc.wantErr)
		}
	case answerText:
		if !strings.Contains(string(res.body), tc.wantErr) {
			t.Errorf("body %q, want it to contain %q", short(string(res.body)), tc.wantErr)
		}
	case answerJSON:
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if res.status == http.StatusNoContent {
			return
		}
		var ans struct {
			Accepted *int   `json:"accepted"`
			Error    string `json:"error"`
			Rejected []struct {
				Index int    `json:"index"`
				Error string `json:"error"`
			} `json:"rejected"`
		}
		if err := json.Unmarshal(res.body, &ans); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, short(string(res.body)))
		}
		if res.status >= 400 {
			if ans.Error == "" || !strings.Contains(ans.Error, tc.wantErr) {
				t.Errorf("error %q, want a reason containing %q", ans.Error, tc.wantErr)
			}
			return
		}
		if tc.rejected == nil {
			return
		}
		if ans.Accepted == nil || *ans.Accepted != tc.accepted {
			t.Errorf("accepted %v, want %d: %s", ans.Accepted, tc.accepted, res.body)
		}
		var idx []int
		for _, r := range ans.Rejected {
			if r.Error == "" {
				t.Errorf("rejection %d has no reason", r.Index)
			}
			idx = append(idx, r.Index)
		}
		if !slices.Equal(idx, tc.rejected) && !(len(idx) == 0 && len(tc.rejected) == 0) {
			t.Errorf("rejected indexes %v, want %v: %s", idx, tc.rejected, res.body)
		}
		if tc.wantErr != "" && !strings.Contains(string(res.body), tc.wantErr) {
			t.Errorf("answer %s, want it to contain %q", res.body, tc.wantErr)
		}
	}
}

// checkTopics checks that exactly the expected events landed on
// clickstream.events (each once), and that each dead marker is in a dead
// letter on clickstream.rejected with a reason.
func checkTopics(t *testing.T, kafka string, landed, dead []string) {
	t.Helper()
	got := map[string]int{}
	for _, m := range testenv.ReadTopic(t, kafka, pipeline.TopicEvents) {
		var ev pipeline.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("event: %v: %s", err, m.Value)
		}
		id := ev.MessageID
		if ev.EventName == clickName {
			id = "click:" + ev.PageURL
		}
		got[id]++
	}
	want := map[string]int{}
	for _, id := range landed {
		want[id]++
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("event %q landed %d times on %s, want %d", id, got[id], pipeline.TopicEvents, n)
		}
	}
	for id, n := range got {
		if want[id] == 0 {
			t.Errorf("unexpected event %q landed %d times on %s (a refused event kept?)", id, n, pipeline.TopicEvents)
		}
	}

	var letters []pipeline.Rejected
	for _, m := range testenv.ReadTopic(t, kafka, pipeline.TopicRejected) {
		var d pipeline.Rejected
		if err := json.Unmarshal(m.Value, &d); err != nil {
			t.Fatalf("dead letter: %v: %s", err, m.Value)
		}
		if d.Error == "" {
			t.Errorf("dead letter without a reason: %s", m.Value)
		}
		letters = append(letters, d)
	}
	for _, marker := range dead {
		found := false
		for _, d := range letters {
			if strings.Contains(string(d.Payload), marker) && d.Error != "" {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no dead letter on %s carries %q", pipeline.TopicRejected, marker)
		}
	}
}

// corpus is the table of hostile requests.
func corpus(t *testing.T) []hostileCase {
	t.Helper()
	j := func(s string) []byte { return []byte(s) }
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	goodBatch := func(id string) []byte {
		return j(`{"batch":[{"type":"track","event":"Good","anonymousId":"v-` + id + `","messageId":"` + id + `"}]}`)
	}
	truncatedGzip := gz(goodBatch("s-trunc-gz"))
	truncatedGzip = truncatedGzip[:len(truncatedGzip)/2]
	bomb := gz(bytes.Repeat([]byte(" "), 20<<20)) // 20 MiB of spaces, ~20 KiB on the wire
	huge := strings.Repeat("x", 40<<10)
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	deepArr := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)

	// Segment: a batch whose good siblings must be kept.
	mixed := `{"batch":[` +
		`{"type":"track","event":"Good","anonymousId":"v1","messageId":"s-mixed-good-0"},` +
		`{"type":"track","event":"Numeric id","anonymousId":42,"messageId":"s-mixed-good-1"},` +
		`{"type":"track","event":"Bad","messageId":"s-mixed-bad-2"},` +
		`{"type":"track","event":"Bad","anonymousId":"v1","messageId":"s-mixed-bad-3","timestamp":"9999-01-01T00:00:00Z"},` +
		`{"type":"track","event":"Bad","anonymousId":"v1","messageId":"s-mixed-bad-4","timestamp":"1492-10-12T00:00:00Z"},` +
		`{"type":"launch","anonymousId":"v1","messageId":"s-mixed-bad-5"},` +
		`{"type":"track","anonymousId":"v1","messageId":"s-mixed-bad-6"},` +
		`42,` +
		`{"type":"page","name":"Home","anonymousId":"v2","messageId":"s-mixed-good-8"},` +
		`{"type":"track","event":"Bad","anonymousId":"v1","messageId":"s-mixed-bad-9","properties":[1,2]},` +
		`{"type":"track","event":"Bad","anonymousId":"v1","messageId":"s-mixed-bad-10","timestamp":"yesterday"},` +
		`{"type":"track","event":"Bad","anonymousId":"v1","messageId":"s-mixed-bad-11","originalTimestamp":"2290-01-01T00:00:00Z","sentAt":"1901-01-01T00:00:00Z"},` +
		`{"type":"track","event":{"x":1},"anonymousId":"v1","messageId":"s-mixed-bad-12"},` +
		`{"type":"track","event":"Bad","anonymousId":"v1","messageId":["s-mixed-bad-13"]}` +
		`]}`
	mixedDead := []string{"s-mixed-bad-2", "s-mixed-bad-3", "s-mixed-bad-4", "s-mixed-bad-5", "s-mixed-bad-6",
		"s-mixed-bad-9", "s-mixed-bad-10", "s-mixed-bad-11", "s-mixed-bad-12", "s-mixed-bad-13"}
	oversizeSibling := `{"batch":[{"type":"track","event":"Big","anonymousId":"v1","messageId":"s-big-bad-0","properties":{"x":"` + huge + `"}},` +
		`{"type":"track","event":"Good","anonymousId":"v1","messageId":"s-big-good-1"}]}`
	invalidUTF8 := append(append(j(`{"batch":[{"type":"track","event":"Caf`), 0xff, 0xfe), j(`","anonymousId":"v1","messageId":"s-utf8-good"}]}`)...)
	garbage := append(j(`{"batch":[{"messageId":"s-garbage-bad"`), 0xff, 0x00, 0xc3)

	// Redirect tokens.
	future := time.Now().Add(time.Hour)
	link := func(u string, exp time.Time, key string) redirect.Link {
		return redirect.Link{URL: u, Recipient: "crm-1", WriteKey: key, Campaign: "bf", Expires: exp}
	}
	sign := func(secret string, l redirect.Link) string {
		tok, err := redirect.Sign([]byte(secret), l)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		return tok
	}
	good := sign(linkSecret, link("https://shop.test/replayed", future, "dev"))
	payload, sig, _ := strings.Cut(good, ".")
	tampered := flip(payload) + "." + sig
	// A non-http target cannot be made with Sign: sign the payload by hand.
	jsBody := j(`{"u":"javascript:alert(1)","r":"crm-1","t":"email","k":"dev"}`)
	jsToken := rawSign(linkSecret, jsBody)
	expired := sign(linkSecret, link("https://shop.test/expired", time.Now().Add(-time.Hour), "dev"))
	foreign := sign(otherSecret, link("https://shop.test/foreign", future, "dev"))
	unknownKey := sign(linkSecret, link("https://shop.test/unknown-key", future, "nobody"))

	// Webhooks: the chat source requires a signature (chatEnv is set).
	chatGood := j(`{"id":"w-chat-good","topic":"conversation.started","created_at":1795169700,` +
		`"data":{"conversation":{"id":"conv_1"},"contact":{"id":"ct_1","anonymous_id":"v-chat"}}}`)
	chatMismatch := j(`{"id":"w-chat-mismatch","topic":"csat.rated","created_at":"not a number",` +
		`"data":{"rating":{"score":"eleven"},"contact":{"id":"ct_1"}}}`)
	chatMalformed := j(`{"id":"w-chat-malformed","topic":`)
	chatWrongType := j(`["w-chat-array"]`)

	// Snowplow.
	spGood := func(eid string) string {
		return `{"e":"pv","url":"https://shop.example/","aid":"dev","p":"web","tv":"js-3.23.0","eid":"` + eid + `","duid":"d-1"}`
	}
	spPayload := func(items ...string) []byte {
		return j(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` + strings.Join(items, ",") + `]}`)
	}

	return []hostileCase{
		// --- Segment routes ---
		{name: "batch truncated JSON", method: "POST", path: "/v1/batch", auth: "dev",
			body: j(`{"batch":[{"type":"track","messageId":"s-trunc-bad"`), status: 400, wantErr: "JSON", dead: []string{"s-trunc-bad"}},
		{name: "batch garbage with invalid UTF-8", method: "POST", path: "/v1/batch", auth: "dev",
			body: garbage, status: 400, wantErr: "body", dead: []string{"s-garbage-bad"}},
		{name: "batch is a string", method: "POST", path: "/v1/batch", auth: "dev",
			body: j(`{"batch":"s-batch-string"}`), status: 400, wantErr: "batch: must be an array", dead: []string{"s-batch-string"}},
		{name: "body is an array", method: "POST", path: "/v1/b", auth: "dev",
			body: j(`[{"messageId":"s-body-array"}]`), status: 400, wantErr: "must be a JSON object", dead: []string{"s-body-array"}},
		{name: "empty body", method: "POST", path: "/v1/batch", auth: "dev", body: j(``), status: 400, wantErr: "empty"},
		{name: "batch mixes good and bad events", method: "POST", path: "/v1/batch", auth: "dev", body: j(mixed),
			status: 200, accepted: 3, rejected: []int{2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13},
			landed: []string{"s-mixed-good-0", "s-mixed-good-1", "s-mixed-good-8"}, dead: mixedDead},
		{name: "oversize event beside a good one", method: "POST", path: "/v1/batch", auth: "dev", body: j(oversizeSibling),
			status: 200, accepted: 1, rejected: []int{0}, wantErr: "larger than", landed: []string{"s-big-good-1"}},
		{name: "invalid UTF-8 inside a string is replaced, event kept", method: "POST", path: "/v1/batch", auth: "dev",
			body: invalidUTF8, status: 200, accepted: 1, rejected: []int{}, landed: []string{"s-utf8-good"}},
		{name: "deep nesting", method: "POST", path: "/v1/batch", auth: "dev",
			body: j(`{"batch":[{"type":"track","event":"Deep","anonymousId":"v1","properties":` + deep + `}]}`), status: 400, wantErr: "nested deeper"},
		{name: "oversize batch", method: "POST", path: "/v1/batch", auth: "dev",
			body:   j(`{"batch":[{"type":"track","event":"x","anonymousId":"v1","properties":{"x":"` + strings.Repeat("y", 600<<10) + `"}}]}`),
			status: 413, wantErr: "larger than"},
		{name: "gzip bomb", method: "POST", path: "/v1/batch", auth: "dev", header: map[string]string{"Content-Encoding": "gzip"},
			body: bomb, status: 413, wantErr: "larger than"},
		{name: "truncated gzip frame", method: "POST", path: "/v1/batch", auth: "dev", header: map[string]string{"Content-Encoding": "gzip"},
			body: truncatedGzip, status: 400, wantErr: "body"},
		{name: "gzip declared, plain body", method: "POST", path: "/v1/batch", auth: "dev", header: map[string]string{"Content-Encoding": "gzip"},
			body: goodBatch("s-not-gzip"), status: 400, wantErr: "invalid gzip"},
		{name: "unsupported content-encoding", method: "POST", path: "/v1/batch", auth: "dev", header: map[string]string{"Content-Encoding": "br"},
			body: goodBatch("s-brotli"), status: 415, wantErr: "not supported"},
		{name: "mixed-case padded gzip encoding is read", method: "POST", path: "/v1/batch", auth: "dev",
			header: map[string]string{"Content-Encoding": " GZip "}, body: gz(goodBatch("s-gzip-ok")),
			status: 200, accepted: 1, rejected: []int{}, landed: []string{"s-gzip-ok"}},
		{name: "unknown write key (Basic auth)", method: "POST", path: "/v1/batch", auth: "nobody",
			body: goodBatch("s-unknown-basic"), status: 401, wantErr: "unknown write key"},
		{name: "unknown write key (body)", method: "POST", path: "/v1/batch",
			body:   j(`{"writeKey":"nobody","batch":[{"type":"track","event":"x","anonymousId":"v1","messageId":"s-unknown-body"}]}`),
			status: 401, wantErr: "unknown write key"},
		{name: "no write key", method: "POST", path: "/v1/batch", body: goodBatch("s-no-key"), status: 401, wantErr: "write key required"},
		{name: "conflicting keys: unknown Basic auth, known body key", method: "POST", path: "/v1/batch", auth: "nobody",
			body:   j(`{"writeKey":"dev","batch":[{"type":"track","event":"x","anonymousId":"v1","messageId":"s-conflict-1"}]}`),
			status: 401, wantErr: "unknown write key"},
		{name: "conflicting keys: known Basic auth wins over unknown query key", method: "POST", path: "/v1/batch?writeKey=nobody", auth: "dev",
			body: goodBatch("s-conflict-2"), status: 200, accepted: 1, rejected: []int{}, landed: []string{"s-conflict-2"}},
		{name: "Authorization header that is not base64", method: "POST", path: "/v1/batch",
			header: map[string]string{"Authorization": "Basic !!!not-base64"}, body: goodBatch("s-bad-auth"), status: 401, wantErr: "write key required"},
		{name: "form content-type on a JSON body is read as JSON", method: "POST", path: "/v1/track",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, auth: "dev",
			body: j(`{"event":"Form","anonymousId":"v1","messageId":"s-form-ok"}`), status: 200, accepted: 1, rejected: []int{}, landed: []string{"s-form-ok"}},
		{name: "track: event of the wrong type", method: "POST", path: "/v1/track", auth: "dev",
			body: j(`{"event":5,"anonymousId":"v1","messageId":"s-track-type"}`), status: 400, wantErr: "event: must be a string", dead: []string{"s-track-type"}},
		{name: "track: missing event", method: "POST", path: "/v1/t", auth: "dev",
			body: j(`{"anonymousId":"v1","messageId":"s-track-noevent"}`), status: 400, wantErr: "event: required", dead: []string{"s-track-noevent"}},
		{name: "track: timestamp far in the future", method: "POST", path: "/v1/track", auth: "dev",
			body: j(`{"event":"x","anonymousId":"v1","messageId":"s-future","timestamp":"3000-01-01T00:00:00Z"}`), status: 400, wantErr: "out of range", dead: []string{"s-future"}},
		{name: "track: oversize single event", method: "POST", path: "/v1/track", auth: "dev",
			body: j(`{"event":"x","anonymousId":"v1","properties":{"x":"` + huge + `"}}`), status: 413, wantErr: "larger than"},
		{name: "page: properties not an object", method: "POST", path: "/v1/page", auth: "dev",
			body: j(`{"name":"Home","anonymousId":"v1","messageId":"s-page-props","properties":"s"}`), status: 400, wantErr: "properties: must be an object", dead: []string{"s-page-props"}},
		{name: "page (short path, text/plain beacon) is kept", method: "POST", path: "/v1/p",
			header: map[string]string{"Content-Type": "text/plain"},
			body:   j(`{"writeKey":"dev","name":"Home","anonymousId":"v1","messageId":"s-page-beacon"}`), status: 200, accepted: 1, rejected: []int{}, landed: []string{"s-page-beacon"}},
		{name: "identify: missing ids", method: "POST", path: "/v1/identify", auth: "dev",
			body: j(`{"traits":{"email":"a@b"},"messageId":"s-identify-noid"}`), status: 400, wantErr: "anonymousId or userId", dead: []string{"s-identify-noid"}},
		{name: "identify (short path): traits of the wrong type", method: "POST", path: "/v1/i", auth: "dev",
			body: j(`{"userId":"u1","traits":[1],"messageId":"s-identify-traits"}`), status: 400, wantErr: "traits: must be an object", dead: []string{"s-identify-traits"}},
		{name: "GET on an ingestion route", method: "GET", path: "/v1/batch", status: 405, kind: answerText},

		// --- pixel ---
		{name: "pixel: no write key", method: "GET", path: "/pixel/v1/track?aid=r1", status: 401, kind: answerGIF, wantErr: "write key required"},
		{name: "pixel: unknown write key", method: "GET", path: "/pixel/v1/track?writeKey=nobody&aid=r1", status: 401, kind: answerGIF, wantErr: "unknown write key"},
		{name: "pixel: bad percent-encoding", method: "GET", path: "/pixel/v1/track?writeKey=dev&aid=r1&messageId=px-badq&x=%zz",
			status: 200, kind: answerGIF, wantErr: "query", dead: []string{"px-badq"}},
		{name: "pixel: missing ids", method: "GET", path: "/pixel/v1/page?writeKey=dev&name=px-noid",
			status: 200, kind: answerGIF, wantErr: "is required", dead: []string{"px-noid"}},
		{name: "pixel: huge query", method: "GET", path: "/pixel/v1/track?writeKey=dev&aid=r1&x=" + strings.Repeat("q", 40<<10),
			status: 200, kind: answerGIF, wantErr: "larger than"},
		{name: "pixel: unknown kind", method: "GET", path: "/pixel/v1/identify?writeKey=dev&aid=r1", status: 404, kind: answerText},
		{name: "pixel: good open beside the hostile ones", method: "GET", path: "/pixel/v1/track?writeKey=dev&aid=r1&messageId=px-good",
			status: 200, kind: answerGIF, landed: []string{"px-good"}},

		// --- click redirect ---
		{name: "redirect: tampered token", method: "GET", path: "/r/" + tampered, status: 403, kind: answerText, wantErr: "invalid link signature"},
		{name: "redirect: expired", method: "GET", path: "/r/" + expired, status: 410, kind: answerText, wantErr: "link expired"},
		{name: "redirect: signed with another secret", method: "GET", path: "/r/" + foreign, status: 403, kind: answerText, wantErr: "invalid link signature"},
		{name: "redirect: non-http target, correctly signed", method: "GET", path: "/r/" + jsToken, status: 400, kind: answerText, wantErr: "malformed link"},
		{name: "redirect: not a token", method: "GET", path: "/r/abc", status: 400, kind: answerText, wantErr: "malformed link"},
		{name: "redirect: NUL and quote in the token", method: "GET", path: "/r/" + url.PathEscape("a\x00'b.c"), status: 400, kind: answerText, wantErr: "malformed link"},
		{name: "redirect: oversize token", method: "GET", path: "/r/" + strings.Repeat("A", 20000) + ".x", status: 400, kind: answerText, wantErr: "malformed link"},
		{name: "redirect: good link", method: "GET", path: "/r/" + good, status: 302, kind: answerText,
			location: "https://shop.test/replayed", landed: []string{"click:https://shop.test/replayed"}},
		{name: "redirect: replayed link is another click", method: "GET", path: "/r/" + good, status: 302, kind: answerText,
			location: "https://shop.test/replayed", landed: []string{"click:https://shop.test/replayed"}},
		{name: "redirect: signed link of an unknown write key redirects, records nothing", method: "GET", path: "/r/" + unknownKey,
			status: 302, kind: answerText, location: "https://shop.test/unknown-key"},

		// --- webhooks ---
		{name: "webhook: unknown source", method: "POST", path: "/v1/webhooks/nope", auth: "dev", body: chatGood, status: 404, wantErr: "unknown webhook source"},
		{name: "webhook: dotted source", method: "POST", path: "/v1/webhooks/..%2Fgeneric-chat", auth: "dev", body: chatGood, status: 404, wantErr: "unknown webhook source"},
		{name: "webhook: no write key", method: "POST", path: "/v1/webhooks/generic-chat", body: chatGood, status: 401, wantErr: "write key required"},
		{name: "webhook: unknown write key", method: "POST", path: "/v1/webhooks/generic-chat?writeKey=nobody", body: chatGood, status: 401, wantErr: "unknown write key"},
		{name: "webhook: missing signature", method: "POST", path: "/v1/webhooks/generic-chat", auth: "dev",
			body: bytes.Replace(chatGood, j("w-chat-good"), j("w-chat-nosig"), 1), status: 401, dead: []string{"w-chat-nosig"}},
		{name: "webhook: bad signature", method: "POST", path: "/v1/webhooks/generic-chat", auth: "dev",
			header: map[string]string{"X-Chat-Signature": chatSig([]byte("something else"))},
			body:   bytes.Replace(chatGood, j("w-chat-good"), j("w-chat-badsig"), 1), status: 401, dead: []string{"w-chat-badsig"}},
		{name: "webhook: signed, malformed JSON", method: "POST", path: "/v1/webhooks/generic-chat", auth: "dev",
			header: map[string]string{"X-Chat-Signature": chatSig(chatMalformed)}, body: chatMalformed, status: 400, dead: []string{"w-chat-malformed"}},
		{name: "webhook: signed, an array not an object", method: "POST", path: "/v1/webhooks/generic-chat", auth: "dev",
			header: map[string]string{"X-Chat-Signature": chatSig(chatWrongType)}, body: chatWrongType,
			status: 200, accepted: 0, rejected: []int{0}, wantErr: "must be a JSON object", dead: []string{"w-chat-array"}},
		{name: "webhook: signed, payload does not match its mapping", method: "POST", path: "/v1/webhooks/generic-chat", auth: "dev",
			header: map[string]string{"X-Chat-Signature": chatSig(chatMismatch)}, body: chatMismatch,
			status: 200, accepted: 0, rejected: []int{0}, dead: []string{"w-chat-mismatch"}},
		{name: "webhook: signed good event", method: "POST", path: "/v1/webhooks/generic-chat", auth: "dev",
			header: map[string]string{"X-Chat-Signature": chatSig(chatGood)}, body: chatGood,
			status: 200, accepted: 1, rejected: []int{}, landed: []string{"generic-chat:w-chat-good"}},

		// --- Snowplow ---
		{name: "snowplow tp2: not payload_data", method: "POST", path: tp2, auth: "dev",
			body: j(`{"sp-not-payload":1}`), status: 400, wantErr: "payload_data", dead: []string{"sp-not-payload"}},
		{name: "snowplow tp2: wrong schema", method: "POST", path: tp2, auth: "dev",
			body: j(`{"schema":"iglu:evil/x/jsonschema/1-0-0","data":[{"eid":"sp-wrong-schema"}]}`), status: 400, wantErr: "is not payload_data", dead: []string{"sp-wrong-schema"}},
		{name: "snowplow tp2: good and bad siblings", method: "POST", path: tp2,
			body:   spPayload(spGood("sp-good-0"), `{"e":"pv","aid":"dev","p":"web","eid":"sp-bad-1"}`, `"sp-bad-2"`, spGood("sp-good-3")),
			status: 200, accepted: 2, rejected: []int{1, 2}, landed: []string{"sp-good-0", "sp-good-3"}, dead: []string{"sp-bad-1", "sp-bad-2"}},
		{name: "snowplow tp2: unknown app id and no key", method: "POST", path: tp2,
			body: spPayload(`{"e":"pv","aid":"nobody","eid":"sp-unknown","duid":"d"}`), status: 401, wantErr: "unknown write key"},
		{name: "snowplow tp2: deep nesting", method: "POST", path: tp2, auth: "dev",
			body: spPayload(deepArr), status: 200, accepted: 0, rejected: []int{0}, wantErr: "must be a JSON object"},
		{name: "snowplow tp2: bad gzip", method: "POST", path: tp2, auth: "dev", header: map[string]string{"Content-Encoding": "gzip"},
			body: j("not gzip"), status: 400, wantErr: "invalid gzip"},
		{name: "snowplow tp2: PUT", method: "PUT", path: tp2, body: j("{}"), status: 405, kind: answerText},
		{name: "snowplow /i: no app id", method: "GET", path: "/i?e=pv&eid=sp-i-nokey", status: 401, kind: answerGIF, wantErr: "write key required"},
		{name: "snowplow /i: missing ids", method: "GET", path: "/i?e=pv&aid=dev&eid=sp-i-noid", status: 200, kind: answerGIF, wantErr: "required", dead: []string{"sp-i-noid"}},
		{name: "snowplow /i: invalid UTF-8 and bad escapes", method: "GET", path: "/i?e=pv&aid=dev&eid=sp-i-badq&duid=%ff%fe&x=%zz",
			status: 200, kind: answerGIF, wantErr: "query", dead: []string{"sp-i-badq"}},
	}
}

// flip changes one character of a base64url string, keeping it base64url.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// rawSign signs body as a link token would be, without Sign's checks.
func rawSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(m.Sum(nil))
}

// chatSig is the generic-chat mapping's signature of body.
func chatSig(body []byte) string {
	m := hmac.New(sha256.New, []byte(chatSecret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func short(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
