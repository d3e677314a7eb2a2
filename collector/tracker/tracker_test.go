package tracker_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/touchstream/touchstream/collector/tracker"
	"github.com/touchstream/touchstream/pipeline"
)

func serve(t *testing.T, method string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/t.js", nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	tracker.Handler().ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	rec := serve(t, http.MethodGet)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"Content-Type":           "application/javascript; charset=utf-8",
		"Cache-Control":          "public, max-age=300",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	etag := h.Get("ETag")
	if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Errorf("ETag %q is not a strong validator", etag)
	}
	if !bytes.Equal(rec.Body.Bytes(), tracker.Script) || !bytes.Contains(tracker.Script, []byte("touchstream.js")) {
		t.Errorf("body is not t.js (%d bytes)", rec.Body.Len())
	}

	// Revalidation: the same ETag is a 304 without a body, with the
	// caching headers repeated; another ETag gets the script.
	for _, inm := range []string{etag, `"other", ` + etag, "*"} {
		nm := serve(t, http.MethodGet, "If-None-Match: "+inm)
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d, %d bytes", inm, nm.Code, nm.Body.Len())
		}
		if nm.Header().Get("ETag") != etag || nm.Header().Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("304 headers %v", nm.Header())
		}
	}
	if other := serve(t, http.MethodGet, `If-None-Match: "stale"`); other.Code != http.StatusOK || other.Body.Len() != len(tracker.Script) {
		t.Errorf("stale ETag: %d, %d bytes", other.Code, other.Body.Len())
	}
	if head := serve(t, http.MethodHead); head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("ETag") != etag {
		t.Errorf("HEAD: %d, %d bytes, %v", head.Code, head.Body.Len(), head.Header())
	}
	if post := serve(t, http.MethodPost); post.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", post.Code)
	}
}

// TestScriptSize keeps t.js small: it is loaded on every page.
func TestScriptSize(t *testing.T) {
	if n := len(tracker.Script); n > 10*1024 {
		t.Errorf("t.js is %d bytes, over 10 KB unminified", n)
	}
}

// runNode runs t_test.mjs, the tests of t.js in a node:vm context, and
// returns the path of the requests t.js made in its main scenario.
func runNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (Node.js 20 or later) is required to test t.js and was not found on PATH: %v", err)
	}
	fixture := filepath.Join(t.TempDir(), "requests.json")
	cmd := exec.CommandContext(t.Context(), node, "t_test.mjs", fixture)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node t_test.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
	return fixture
}

func TestScript(t *testing.T) { runNode(t) }

// TestClickIDsMatchPipeline: t.js keeps for the session exactly the click
// ids the collector stores (pipeline.ClickIDParams), in the same order.
func TestClickIDsMatchPipeline(t *testing.T) {
	js := serve(t, http.MethodGet).Body.String()
	_, rest, ok := strings.Cut(js, "var CLICK_IDS = [")
	list, _, ok2 := strings.Cut(rest, "];")
	if !ok || !ok2 {
		t.Fatal("t.js has no CLICK_IDS list")
	}
	var got []string
	for _, name := range strings.Split(list, ",") {
		got = append(got, strings.Trim(strings.TrimSpace(name), "'"))
	}
	if want := pipeline.ClickIDParams(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("t.js CLICK_IDS %v, want pipeline.ClickIDParams() %v", got, want)
	}
}
