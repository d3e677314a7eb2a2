package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/collector/redirect"
)

// fakeCollector counts what `touchstream generate` sends to each endpoint;
// it verifies click links with secret.
type fakeCollector struct {
	secret                           []byte
	mu                               sync.Mutex
	batchEvents, pixels, clicks, bad int
}

func (f *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/batch":
		body, _ := io.ReadAll(r.Body)
		n := strings.Count(string(body), `"messageId"`)
		f.batchEvents += n
		fmt.Fprintf(w, `{"accepted":%d}`, n)
	case strings.HasPrefix(r.URL.Path, "/pixel/v1/track"):
		f.pixels++
	case strings.HasPrefix(r.URL.Path, "/r/"):
		l, err := redirect.Verify(f.secret, strings.TrimPrefix(r.URL.Path, "/r/"), time.Now())
		if err != nil {
			f.bad++
			http.Error(w, "invalid link signature", http.StatusForbidden)
			return
		}
		f.clicks++
		http.Redirect(w, r, l.URL, http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// TestGenerateEndpoints: with the link secret in TOUCHSTREAM_LINK_SECRET,
// clicks go to the redirect signed with it, opens to the pixel, the rest
// in batches; without it, the clicks join the batches.
func TestGenerateEndpoints(t *testing.T) {
	const secret = "cmd-test-link-secret-0123"
	args := func(url string, extra ...string) []string {
		return append([]string{"--visitors", "150", "--seed", "11", "--start", "2026-03-01", "--collector", url}, extra...)
	}
	f := &fakeCollector{secret: []byte(secret)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv(endpoints.EnvLinkSecret, secret+",an-older-secret-still-verified")
	if err := runGenerate(t.Context(), args(srv.URL)); err != nil {
		t.Fatal(err)
	}
	withSecret := struct{ batchEvents, pixels, clicks, bad int }{f.batchEvents, f.pixels, f.clicks, f.bad}
	if withSecret.clicks == 0 || withSecret.pixels == 0 || withSecret.bad != 0 || withSecret.batchEvents == 0 {
		t.Fatalf("with a secret: %d batch events, %d pixels, %d clicks, %d refused", f.batchEvents, f.pixels, f.clicks, f.bad)
	}

	t.Setenv(endpoints.EnvLinkSecret, "")
	g := &fakeCollector{secret: []byte(secret)}
	srv2 := httptest.NewServer(g)
	defer srv2.Close()
	if err := runGenerate(t.Context(), args(srv2.URL)); err != nil {
		t.Fatal(err)
	}
	if g.clicks != 0 || g.pixels != withSecret.pixels || g.batchEvents != withSecret.batchEvents+withSecret.clicks {
		t.Fatalf("without a secret: %d batch events, %d pixels, %d clicks; with one %d, %d, %d",
			g.batchEvents, g.pixels, g.clicks, withSecret.batchEvents, withSecret.pixels, withSecret.clicks)
	}

	// A secret the collector does not verify with fails the send.
	if err := runGenerate(t.Context(), args(srv.URL, "--link-secret", "not-the-collectors-secret")); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestGenerateFlagErrors(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--rate -1", "--rate"},
		{"--rate fast", "--rate"},
		{"--link-secret short", "shorter than 16"},
	} {
		err := runGenerate(t.Context(), append(strings.Fields(tc.args), "--visitors", "1", "--collector", "http://127.0.0.1:1"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", tc.args, err, tc.want)
		}
	}
}

// TestGenerateRate: --rate paces the send (lower bound only).
func TestGenerateRate(t *testing.T) {
	f := &fakeCollector{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	start := time.Now()
	// 5 visitors make some 40 events: at 20 a second, over a second and a half.
	if err := runGenerate(t.Context(), []string{"--visitors", "5", "--seed", "3", "--start", "2026-03-01", "--rate", "20", "--collector", srv.URL}); err != nil {
		t.Fatal(err)
	}
	n := f.batchEvents + f.pixels
	if least := time.Duration(float64(n-2)/20*float64(time.Second)) - 100*time.Millisecond; n < 30 || time.Since(start) < least {
		t.Fatalf("%d events at 20/s in %s", n, time.Since(start))
	}
}
