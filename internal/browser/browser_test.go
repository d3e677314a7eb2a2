package browser_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/touchstream/touchstream/internal/browser"
)

// TestPage loads a page that logs an error, throws, and fetches a URL
// that is not there: each is recorded, and so is every request.
func TestPage(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><title>t</title><script>
console.log("fine"); console.error("bad", 42);
setTimeout(function () { throw new Error("boom"); }, 0);
</script><img src="/missing.png"><p id="focus"></p>
<script>document.getElementById("focus").textContent = String(document.hasFocus());</script>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer hs.Close()

	b := browser.New(t)
	if v, err := b.Version(); err != nil || !strings.Contains(v, "/") {
		t.Fatalf("version %q: %v", v, err)
	}
	p := browser.NewPage(t, b)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var focus string
	if err := p.Run(ctx, chromedp.Navigate(hs.URL+"/"), chromedp.Text("#focus", &focus, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if focus != "true" {
		t.Errorf("document.hasFocus() = %s, want true (focus emulation)", focus)
	}
	want := []string{"console.error: bad 42", "uncaught: Uncaught Error: boom", "log network: Failed to load resource"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		errs := strings.Join(p.Errors(), "\n")
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return strings.Contains(errs, w) })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("errors lack %q; got:\n%s", missing, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	reqs := p.Requests()
	if !slices.Contains(reqs, "GET "+hs.URL+"/") || !slices.Contains(reqs, "GET "+hs.URL+"/missing.png") {
		t.Errorf("requests %q", reqs)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close tab: %v", err)
	}
}

// TestPathEnv: TOUCHSTREAM_CHROMIUM wins, and must exist.
func TestPathEnv(t *testing.T) {
	real, err := browser.Path()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(browser.Env, real)
	if p, err := browser.Path(); err != nil || p != real {
		t.Errorf("Path() = %q, %v; want %q", p, err, real)
	}
	t.Setenv(browser.Env, filepath.Join(t.TempDir(), "nothing"))
	if _, err := browser.Path(); err == nil {
		t.Error("Path() with a missing binary: no error")
	}
	t.Setenv(browser.Env, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := browser.Path(); err != browser.ErrNotFound {
		t.Errorf("Path() with nothing on PATH: %v, want ErrNotFound", err)
	}
}

// TestClose: after Close the browser process is gone.
func TestClose(t *testing.T) {
	b, err := browser.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	if pid == 0 {
		t.Fatal("no pid")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
		out, _ := exec.Command("ps", "-o", "pid,stat,cmd", "-p", strconv.Itoa(pid)).CombinedOutput()
		t.Errorf("browser process %d still there after Close:\n%s", pid, out)
	}
}
