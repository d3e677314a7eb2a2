package webhook

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/schemas/webhooks"
)

// fakeAcceptor records what it is handed. The integration test runs the
// real collector; this one makes the answers easy to check.
type fakeAcceptor struct {
	mu       sync.Mutex
	fail     error
	endpoint []string
	events   []pipeline.Event
	dead     []pipeline.Rejected
}

func (f *fakeAcceptor) KnownWriteKey(k string) bool { return k == "dev" }
func (f *fakeAcceptor) Now() time.Time              { return receivedAt }
func (f *fakeAcceptor) Accept(_ context.Context, endpoint string, evs []pipeline.Event, dead []pipeline.Rejected) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endpoint = append(f.endpoint, endpoint)
	f.dead = append(f.dead, dead...)
	if f.fail != nil {
		return f.fail
	}
	f.events = append(f.events, evs...)
	return nil
}

const (
	socialSecret = "s3cret-social"
	chatSecret   = "s3cret-chat"
)

// signedRegistry is the shipped mappings with both secrets set.
func signedRegistry(t testing.TB) *Registry {
	t.Helper()
	reg, err := LoadFS(webhooks.FS, func(k string) string {
		return map[string]string{
			"TOUCHSTREAM_WEBHOOK_GENERIC_SOCIAL_SECRET": socialSecret,
			"TOUCHSTREAM_WEBHOOK_GENERIC_CHAT_SECRET":   chatSecret,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestSignature(t *testing.T) {
	t.Parallel()
	reg := signedRegistry(t)
	social, _ := reg.Mapping("generic-social")
	chat, _ := reg.Mapping("generic-chat")
	if !social.Signed() || !chat.Signed() {
		t.Fatal("signature checks off with secrets set")
	}
	body := []byte(`{"events":[]}`)
	tests := []struct {
		name   string
		m      *Mapping
		header http.Header
		want   error
	}{
		{"social good", social, http.Header{"X-Social-Signature": {"sha256=" + social.sig.sign(body)[len("sha256="):]}}, nil},
		{"social prefix any case", social, http.Header{"X-Social-Signature": {"SHA256=" + social.sig.sign(body)[len("sha256="):]}}, nil},
		{"social missing", social, http.Header{}, ErrSignatureMissing},
		{"social no prefix", social, http.Header{"X-Social-Signature": {strings.TrimPrefix(social.sig.sign(body), "sha256=")}}, ErrSignatureInvalid},
		{"social not hex", social, http.Header{"X-Social-Signature": {"sha256=zz"}}, ErrSignatureInvalid},
		{"social other body", social, http.Header{"X-Social-Signature": {social.sig.sign([]byte(`{"events":[{}]}`))}}, ErrSignatureInvalid},
		{"chat good", chat, http.Header{"X-Chat-Signature": {chat.sig.sign(body)}}, nil},
		{"chat with social's secret", chat, http.Header{"X-Chat-Signature": {(&signature{algorithm: "sha256", encoding: "base64", secret: []byte(socialSecret)}).sign(body)}}, ErrSignatureInvalid},
		{"chat not base64", chat, http.Header{"X-Chat-Signature": {"!!!"}}, ErrSignatureInvalid},
	}
	for _, tc := range tests {
		err := tc.m.Verify(tc.header, body)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Known vectors (Python's hmac), so that sign itself is checked.
	if got := social.sig.sign(body); got != "sha256=48d8ace56ab666e40476c4109b5abe9751945b4398dc667ffc073e0b8b319462" {
		t.Errorf("social sign %s", got)
	}
	if got := chat.sig.sign(body); got != "co+PxIXfvfBCdrjuRD47qiORHgQqgl9YaZ8jqvVTVdE=" {
		t.Errorf("chat sign %s", got)
	}
	// Unpadded URL-safe base64 is accepted too.
	if err := chat.Verify(http.Header{"X-Chat-Signature": {"co-PxIXfvfBCdrjuRD47qiORHgQqgl9YaZ8jqvVTVdE"}}, body); err != nil {
		t.Errorf("url-safe base64: %v", err)
	}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func serve(t *testing.T, h http.Handler, path string, body []byte, headers ...string) reply {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("POST /v1/webhooks/{source}", h)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, bytes.NewReader(body))
	for _, hd := range headers {
		k, v, _ := strings.Cut(hd, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %d %q is not JSON", rec.Code, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	return reply{rec.Code, rec.Header(), out}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	reg := signedRegistry(t)
	social, _ := reg.Mapping("generic-social")
	batch := readExample(t, "generic-social/batch.json")
	sig := "X-Social-Signature: " + social.sig.sign(batch)

	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	gzBatch := gz(batch)
	huge := []byte(`{"events":[{"pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}]}`)
	bad := []byte(`{"events":[{"id":"x","type":"comment","actor":{"id":"a"}},{"type":"unknown"}]}`)

	tests := []struct {
		name     string
		path     string
		body     []byte
		headers  []string
		status   int
		errText  string // the error of a refused request
		accepted int
		rejected string // indexes and errors, "i:error;..."
		dead     int    // whole-request dead letters
	}{
		{name: "unknown source", path: "/v1/webhooks/nope?writeKey=dev", body: batch, status: 404, errText: `unknown webhook source "nope"`},
		{name: "no write key", path: "/v1/webhooks/generic-social", body: batch, headers: []string{sig}, status: 401, errText: "write key required: Basic auth user or ?writeKey="},
		{name: "unknown write key", path: "/v1/webhooks/generic-social?writeKey=other", body: batch, headers: []string{sig}, status: 401, errText: "unknown write key"},
		{name: "signature missing", path: "/v1/webhooks/generic-social?writeKey=dev", body: batch, status: 401,
			errText: "signature missing: header X-Social-Signature is required", dead: 1},
		{name: "signature bad", path: "/v1/webhooks/generic-social?writeKey=dev", body: batch, headers: []string{"X-Social-Signature: sha256=00"}, status: 401,
			errText: "signature invalid: header X-Social-Signature does not match the body", dead: 1},
		{name: "good, query key", path: "/v1/webhooks/generic-social?writeKey=dev", body: batch, headers: []string{sig}, status: 200, accepted: 6},
		{name: "good, basic auth", path: "/v1/webhooks/generic-social", body: batch, headers: []string{sig, "Authorization: Basic ZGV2Og=="}, status: 200, accepted: 6},
		{name: "good, gzip signed on the wire", path: "/v1/webhooks/generic-social?writeKey=dev", body: gzBatch,
			headers: []string{"Content-Encoding: gzip", "X-Social-Signature: " + social.sig.sign(gzBatch)}, status: 200, accepted: 6},
		{name: "bad gzip", path: "/v1/webhooks/generic-social?writeKey=dev", body: []byte("nope"),
			headers: []string{"Content-Encoding: gzip", "X-Social-Signature: " + social.sig.sign([]byte("nope"))}, status: 400, errText: "body: invalid gzip: unexpected EOF", dead: 1},
		{name: "brotli", path: "/v1/webhooks/generic-social?writeKey=dev", body: batch, headers: []string{"Content-Encoding: br", sig}, status: 415,
			errText: "content-encoding: br is not supported (use gzip or none)", dead: 1},
		{name: "too large", path: "/v1/webhooks/generic-social?writeKey=dev", body: huge, status: 413, errText: "body: larger than 1048576 bytes", dead: 1},
		{name: "not json", path: "/v1/webhooks/generic-social?writeKey=dev", body: []byte(`nope`), headers: []string{"X-Social-Signature: " + social.sig.sign([]byte("nope"))}, status: 400,
			errText: "body: invalid JSON: invalid character 'o' in literal null (expecting 'u')", dead: 1},
		{name: "some items refused", path: "/v1/webhooks/generic-social?writeKey=dev", body: bad, headers: []string{"X-Social-Signature: " + social.sig.sign(bad)}, status: 200,
			accepted: 1, rejected: "1:no mapping rule matched;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := &fakeAcceptor{}
			r := serve(t, Handler(a, reg), tc.path, tc.body, tc.headers...)
			if r.status != tc.status {
				t.Fatalf("status %d %v, want %d", r.status, r.body, tc.status)
			}
			if tc.errText != "" {
				if r.body["error"] != tc.errText {
					t.Errorf("error %q, want %q", r.body["error"], tc.errText)
				}
				if len(a.events) != 0 || len(a.dead) != tc.dead {
					t.Errorf("handed %d events, %d dead letters", len(a.events), len(a.dead))
				}
				for _, d := range a.dead {
					if d.Index != -1 || d.Error != tc.errText || d.WriteKey != "dev" || d.Source != "/v1/webhooks/generic-social" {
						t.Errorf("dead letter %+v", d)
					}
				}
				return
			}
			var got string
			rej, ok := r.body["rejected"].([]any)
			if !ok {
				t.Fatalf("rejected is not a list: %v", r.body)
			}
			for _, x := range rej {
				x := x.(map[string]any)
				got += jsonText(x["index"]) + ":" + x["error"].(string) + ";"
			}
			if r.body["accepted"] != float64(tc.accepted) || got != tc.rejected {
				t.Errorf("answer %v", r.body)
			}
			if len(a.events) != tc.accepted || len(a.endpoint) != 1 || a.endpoint[0] != "/v1/webhooks/generic-social" {
				t.Errorf("handed %d events to %v", len(a.events), a.endpoint)
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHandlerUnavailable(t *testing.T) {
	t.Parallel()
	a := &fakeAcceptor{fail: errors.New("kafka away")}
	r := serve(t, Handler(a, shipped(t)), "/v1/webhooks/generic-chat?writeKey=dev", readExample(t, "generic-chat/csat.rated.json"))
	if r.status != 503 || r.header.Get("Retry-After") != "5" || r.body["error"] != "events could not be stored; retry later" {
		t.Errorf("got %d %v %v", r.status, r.header, r.body)
	}
}

func TestHandlerReadsWholeBody(t *testing.T) {
	t.Parallel()
	// A body sent without Content-Length (chunked) is read to the end.
	a := &fakeAcceptor{}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/webhooks/{source}", Handler(a, shipped(t)))
	body := readExample(t, "generic-chat/message.created.json")
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/webhooks/generic-chat?writeKey=dev", io.MultiReader(bytes.NewReader(body[:10]), bytes.NewReader(body[10:])))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 200 || len(a.events) != 1 {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}
