package browser

import (
	"context"
	"testing"
)

// New starts a browser for a test and closes it when the test ends. It
// fails the test (it does not skip it) when there is no browser, saying how
// to install one. Starting is bounded: Start gives up after 30 s without
// an answer from the process.
func New(t testing.TB) *Browser {
	t.Helper()
	if _, err := Path(); err != nil {
		t.Fatalf("headless Chromium is required: %v", err)
	}
	// Not t.Context(): it ends before the cleanups run, and Close needs
	// the browser still there to close it gracefully.
	b, err := Start(context.Background())
	if err != nil {
		t.Fatalf("headless Chromium: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close browser: %v", err)
		}
	})
	return b
}

// NewPage opens a tab of b for a test, closed when the test ends (if the
// test has not closed it).
func NewPage(t testing.TB, b *Browser) *Page {
	t.Helper()
	p, err := b.NewPage()
	if err != nil {
		t.Fatalf("new tab: %v", err)
	}
	t.Cleanup(func() { p.cancel() })
	return p
}
