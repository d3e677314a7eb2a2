package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Env names the environment variable that points at a browser binary.
const Env = "TOUCHSTREAM_CHROMIUM"

// names are the commands looked for on PATH, in order; keep them in step
// with scripts/install-chromium.sh.
var names = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless_shell"}

// ErrNotFound is returned by Path and Start when there is no browser: Env
// is unset and none of the known commands is on PATH.
var ErrNotFound = errors.New("no Chromium or Chrome found: run scripts/install-chromium.sh (make install) or set " + Env + " to a browser binary")

// closeTimeout bounds a graceful Close before the process is killed.
const closeTimeout = 10 * time.Second

// Path returns the browser binary: $TOUCHSTREAM_CHROMIUM (which must
// exist), else the first known command on PATH.
func Path() (string, error) {
	if p := os.Getenv(Env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", Env, err)
		}
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Browser is a running headless Chromium. Its methods are safe to call from
// several goroutines; Close ends the process.
type Browser struct {
	ctx         context.Context // the browser's first tab: commands to the browser go through it
	cancelAlloc context.CancelFunc
	cancelTab   context.CancelFunc
}

// Start starts headless Chromium with a temporary profile and waits until
// it answers. The process lives until Close (or until ctx is done, when it
// is killed).
func Start(ctx context.Context) (*Browser, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, // --headless, --hide-scrollbars, --mute-audio
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(1280, 900),
		chromedp.WSURLReadTimeout(30 * time.Second),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	b := &Browser{ctx: tctx, cancelAlloc: cancelAlloc, cancelTab: cancelTab}
	if err := chromedp.Run(tctx); err != nil { // starts the process
		b.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return b, nil
}

// Close closes the browser gracefully (within 10 s, else it is killed) and
// waits for the process to end.
func (b *Browser) Close() error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Cancel(b.ctx) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(closeTimeout):
		err = errors.New("close browser: timed out, killing it")
	}
	b.cancelTab()
	b.cancelAlloc() // kills the process if still there, and waits for it
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// Version is the browser's product string, e.g. "Chrome/131.0.6778.85".
func (b *Browser) Version() (string, error) {
	var product string
	err := chromedp.Run(b.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, p, _, _, _, err := cdpbrowser.GetVersion().Do(ctx)
		product = p
		return err
	}))
	return product, err
}

// PID is the browser process's id (0 if it is not running).
func (b *Browser) PID() int {
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		return c.Browser.Process().Pid
	}
	return 0
}
