package browser

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is a browser tab. It records the page's console errors and
// requests from the moment it is opened; its methods are safe to call from
// several goroutines.
type Page struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	errors   []string
	requests []string
}

// NewPage opens a blank tab. The tab has focus emulation on, so that
// document.hasFocus() is true as in a foreground window (headless windows
// have no focus of their own). Close it with Close, or it is closed with
// the browser.
func (b *Browser) NewPage() (*Page, error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{ctx: ctx, cancel: cancel}
	chromedp.ListenTarget(ctx, p.listen)
	if err := chromedp.Run(ctx, emulation.SetFocusEmulationEnabled(true)); err != nil {
		cancel()
		return nil, fmt.Errorf("open tab: %w", err)
	}
	return p, nil
}

// listen records the events a test asserts on.
func (p *Page) listen(ev any) {
	var msg, req string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
			msg = "console." + string(ev.Type) + ": " + consoleArgs(ev.Args)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e.Level == cdplog.LevelError {
			msg = "log " + string(e.Source) + ": " + e.Text
			if e.URL != "" {
				msg += " (" + e.URL + ")"
			}
		}
	case *network.EventRequestWillBeSent:
		req = ev.Request.Method + " " + ev.Request.URL
	}
	if msg == "" && req == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg != "" {
		p.errors = append(p.errors, msg)
	}
	if req != "" {
		p.requests = append(p.requests, req)
	}
}

// consoleArgs prints a console call's arguments as the console would.
func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a.Value != nil:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// Run runs chromedp actions in the tab (chromedp.Navigate, Click,
// Evaluate, ...), bounded by ctx as well as by the tab's life.
func (p *Page) Run(ctx context.Context, actions ...chromedp.Action) error {
	rctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	err := chromedp.Run(rctx, actions...)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

// Errors returns the console errors, uncaught exceptions and error log
// entries so far, in order.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.errors)
}

// Requests returns the requests the tab made so far, "METHOD URL" each, in
// order (the documents navigated to included).
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Close closes the tab the way a user closing it would: the page gets
// pagehide (and visibilitychange) first.
func (p *Page) Close() error {
	err := chromedp.Cancel(p.ctx)
	p.cancel()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
