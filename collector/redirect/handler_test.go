package redirect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/pipeline"
)

var _ redirect.Acceptor = (*collector.Server)(nil)

// now is the fake collector's clock, before testLink expires.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fake is an Acceptor that records what it is given.
type fake struct {
	err   error         // Accept's answer
	block chan struct{} // when set, Accept waits for it to close

	mu        sync.Mutex
	events    []pipeline.Event
	endpoints []string
	calls     int
}

func (f *fake) KnownWriteKey(key string) bool { return key == "dev" }
func (f *fake) Now() time.Time                { return now }

func (f *fake) Accept(_ context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.endpoints = append(f.endpoints, endpoint)
	if len(dead) > 0 {
		panic("redirect sent dead letters")
	}
	if f.err != nil {
		return f.err
	}
	f.events = append(f.events, events...)
	return nil
}

func (f *fake) recorded() []pipeline.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pipeline.Event(nil), f.events...)
}

// syncBuffer is a log destination safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve sends method /r/<token> through a mux routed as the collector
// routes the redirect.
func serve(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /r/{token}", h)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), method, target, nil))
	return rec
}

func TestClick(t *testing.T) {
	sms := testLink
	sms.Touchpoint, sms.URL, sms.Campaign, sms.Source, sms.Expires = "sms", "http://shop.test/c?x=1&y=<2>", "", "", time.Time{}
	tests := []struct {
		name string
		link redirect.Link
		want pipeline.Event
	}{
		{"email", testLink, pipeline.Event{
			EventTime: now, ReceivedAt: now, Type: "track", EventName: "Email Link Clicked", Touchpoint: "email",
			VisitorID: "crm-42", UserID: "crm-42", UTMSource: "newsletter", UTMMedium: "email", UTMCampaign: "bf",
			PageURL: testLink.URL, PagePath: "/deals", LibraryName: "touchstream-redirect", WriteKey: "dev",
			Properties: json.RawMessage(`{"url":"https://shop.test/deals?utm_source=newsletter\u0026utm_medium=email\u0026utm_campaign=bf#top","campaign":"bf"}`),
		}},
		{"sms, no campaign", sms, pipeline.Event{
			EventTime: now, ReceivedAt: now, Type: "track", EventName: "SMS Link Clicked", Touchpoint: "sms",
			VisitorID: "crm-42", UserID: "crm-42", UTMMedium: "sms",
			PageURL: sms.URL, PagePath: "/c", LibraryName: "touchstream-redirect", WriteKey: "dev",
			Properties: json.RawMessage(`{"url":"http://shop.test/c?x=1\u0026y=\u003c2\u003e"}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			rec := serve(t, redirect.Handler(f, [][]byte{secret}), http.MethodGet, "/r/"+sign(t, secret, tt.link))
			if rec.Code != http.StatusFound || rec.Header().Get("Location") != tt.link.URL {
				t.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			got := f.recorded()
			if len(got) != 1 || f.endpoints[0] != "/r" {
				t.Fatalf("recorded %d events at %q", len(got), f.endpoints)
			}
			ev := got[0]
			if len(ev.MessageID) != 36 {
				t.Errorf("message id %q", ev.MessageID)
			}
			ev.MessageID = ""
			if !reflect.DeepEqual(ev, tt.want) {
				t.Errorf("event\n got %+v\nwant %+v", ev, tt.want)
			}
		})
	}
}

func TestEveryClickCounts(t *testing.T) {
	f := &fake{}
	h := redirect.Handler(f, [][]byte{secret})
	tok := sign(t, secret, testLink)
	serve(t, h, http.MethodGet, "/r/"+tok)
	serve(t, h, http.MethodGet, "/r/"+tok)
	if got := f.recorded(); len(got) != 2 || got[0].MessageID == got[1].MessageID {
		t.Errorf("two clicks recorded as %+v", got)
	}
}

func TestRefusedTokens(t *testing.T) {
	good := sign(t, secret, testLink)
	payload, sig, _ := strings.Cut(good, ".")
	expired := sign(t, secret, func() redirect.Link { l := testLink; l.Expires = now; return l }())
	tests := []struct {
		name, target string
		status       int
		body         string
	}{
		{"garbage", "/r/not-a-token", 400, "malformed link\n"},
		{"open redirect attempt", "/r/https:%2F%2Fevil.test", 400, "malformed link\n"},
		{"no signature", "/r/" + payload, 400, "malformed link\n"},
		{"altered", "/r/" + payload[:len(payload)-2] + "." + sig, 403, "invalid link signature\n"},
		{"other secret", "/r/" + sign(t, otherKey, testLink), 403, "invalid link signature\n"},
		{"expired", "/r/" + expired, 410, "link expired\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			rec := serve(t, redirect.Handler(f, [][]byte{secret}), http.MethodGet, tt.target)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if loc := rec.Header().Get("Location"); loc != "" {
				t.Errorf("Location %q", loc)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if f.calls != 0 {
				t.Error("a refused token was recorded")
			}
		})
	}
	// A target in the query string is ignored: only the token's counts.
	f := &fake{}
	rec := serve(t, redirect.Handler(f, [][]byte{secret}), http.MethodGet, "/r/"+good+"?u=https://evil.test&url=https://evil.test")
	if rec.Header().Get("Location") != testLink.URL {
		t.Errorf("Location %q", rec.Header().Get("Location"))
	}
}

func TestRotation(t *testing.T) {
	f := &fake{}
	h := redirect.Handler(f, [][]byte{secret, oldSecret})
	for _, key := range [][]byte{secret, oldSecret} {
		if rec := serve(t, h, http.MethodGet, "/r/"+sign(t, key, testLink)); rec.Code != http.StatusFound {
			t.Errorf("signed with %q: %d", key, rec.Code)
		}
	}
	if rec := serve(t, h, http.MethodGet, "/r/"+sign(t, otherKey, testLink)); rec.Code != http.StatusForbidden {
		t.Errorf("signed with a secret not in the list: %d", rec.Code)
	}
	// Retired: the old secret is dropped from the list.
	h = redirect.Handler(f, [][]byte{secret})
	if rec := serve(t, h, http.MethodGet, "/r/"+sign(t, oldSecret, testLink)); rec.Code != http.StatusForbidden {
		t.Errorf("signed with a retired secret: %d", rec.Code)
	}
	if n := len(f.recorded()); n != 2 {
		t.Errorf("%d clicks recorded, want 2", n)
	}
}

func TestKafkaDownStillRedirects(t *testing.T) {
	var logs syncBuffer
	f := &fake{err: errors.New("kafka: no leader")}
	h := redirect.Handler(f, [][]byte{secret}, redirect.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	tok := sign(t, secret, testLink)
	for range 2 {
		if rec := serve(t, h, http.MethodGet, "/r/"+tok); rec.Code != http.StatusFound || rec.Header().Get("Location") != testLink.URL {
			t.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
		}
	}
	out := logs.String()
	for _, want := range []string{
		`level=ERROR msg="click not stored; redirected anyway" component=redirect`,
		"lost_clicks=1 ", "lost_clicks=2 ", `err="kafka: no leader"`, "campaign=bf",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestSlowKafka(t *testing.T) {
	var logs syncBuffer
	f := &fake{block: make(chan struct{})}
	h := redirect.Handler(f, [][]byte{secret}, redirect.WithMaxWait(50*time.Millisecond),
		redirect.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	start := time.Now()
	rec := serve(t, h, http.MethodGet, "/r/"+sign(t, secret, testLink))
	if rec.Code != http.StatusFound {
		t.Fatalf("status %d", rec.Code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("redirected after %s; max wait is 50ms", d)
	}
	if !strings.Contains(logs.String(), "click not acknowledged in time") {
		t.Errorf("logs: %s", logs.String())
	}
	// Kafka acknowledges later: the click is stored all the same.
	close(f.block)
	deadline := time.Now().Add(5 * time.Second)
	for len(f.recorded()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the click was not stored after Kafka came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUnknownWriteKey(t *testing.T) {
	var logs syncBuffer
	f := &fake{}
	h := redirect.Handler(f, [][]byte{secret}, redirect.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	l := testLink
	l.WriteKey = "retired-source"
	rec := serve(t, h, http.MethodGet, "/r/"+sign(t, secret, l))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != l.URL {
		t.Errorf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if f.calls != 0 {
		t.Error("recorded a click for an unknown write key")
	}
	if !strings.Contains(logs.String(), "write_key=retired-source") {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestHeadRecordsNothing(t *testing.T) {
	f := &fake{}
	rec := serve(t, redirect.Handler(f, [][]byte{secret}), http.MethodHead, "/r/"+sign(t, secret, testLink))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != testLink.URL {
		t.Errorf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if f.calls != 0 {
		t.Error("HEAD recorded a click")
	}
}

func TestExactRoute(t *testing.T) {
	f := &fake{}
	h := redirect.Handler(f, [][]byte{secret})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/click/"+sign(t, secret, testLink), nil))
	if rec.Code != http.StatusFound {
		t.Errorf("status %d", rec.Code)
	}
}

func TestHandlerRefusesBadSecrets(t *testing.T) {
	for name, secrets := range map[string][][]byte{
		"none":  nil,
		"empty": {{}},
		"short": {secret, []byte("123456789012345")},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			redirect.Handler(&fake{}, secrets)
		}()
	}
	// The handler keeps its own copy of the secrets.
	key := bytes.Clone(secret)
	h := redirect.Handler(&fake{}, [][]byte{key})
	key[0] ^= 1
	if rec := serve(t, h, http.MethodGet, "/r/"+sign(t, secret, testLink)); rec.Code != http.StatusFound {
		t.Errorf("after the caller changed its slice: %d", rec.Code)
	}
}
