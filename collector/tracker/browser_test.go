package tracker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/internal/browser"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

// browserTimeout bounds TestBrowser as a whole.
const browserTimeout = 90 * time.Second

// sentRequest is one request t.js made to the collector, as the collector
// saw it and answered it.
type sentRequest struct {
	mode   string // Sec-Fetch-Mode: "cors" for fetch, "no-cors" for sendBeacon
	status int
	events []map[string]any
}

// recorder wraps the collector's handler and keeps the /v1/batch requests,
// each once the collector has answered (so its events are in Kafka).
type recorder struct {
	next     http.Handler
	mu       sync.Mutex
	reqs     []sentRequest
	inflight int
	last     time.Time // when the last request ended
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" {
		rec.next.ServeHTTP(w, r)
		return
	}
	rec.mu.Lock()
	rec.inflight++
	rec.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rec.next.ServeHTTP(sw, r)
	var b struct {
		Batch []map[string]any `json:"batch"`
	}
	json.Unmarshal(body, &b)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, sentRequest{mode: r.Header.Get("Sec-Fetch-Mode"), status: sw.status, events: b.Batch})
	rec.inflight--
	rec.last = time.Now()
	rec.mu.Unlock()
}

// quiet reports whether no request is being served and none ended for d.
func (rec *recorder) quiet(d time.Duration) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.inflight == 0 && time.Since(rec.last) >= d
}

// beaconed reports whether a Page Engagement of visitor aid on path has
// been sent with sendBeacon.
func (rec *recorder) beaconed(aid, path string) bool {
	for _, r := range rec.requests() {
		for _, ev := range r.events {
			props, _ := ev["properties"].(map[string]any)
			if r.mode == "no-cors" && ev["anonymousId"] == aid && ev["event"] == "Page Engagement" && props["path"] == path {
				return true
			}
		}
	}
	return false
}

func (rec *recorder) requests() []sentRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// pageHTML is a test page installing t.js with the one line of DESIGN.md
// section 4 (plus data-cookieless when asked), a button marked for
// tracking and a link that navigates the single-page way.
func pageHTML(collectorURL, title, extra string) string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>` + title + `</title>
<script defer src="` + collectorURL + `/t.js" data-write-key="dev"` + extra + `></script>
</head><body>
<h1>` + title + `</h1>
<button id="choose" data-ts-event="Plan Chosen" data-ts-prop-plan-id="pro"><span id="inner">Choose Pro</span></button>
<a id="pricing" href="/pricing">Pricing</a>
<script>
document.getElementById('pricing').addEventListener('click', function (e) {
  e.preventDefault();
  document.title = 'Pricing';
  history.pushState({}, '', '/pricing');
});
</script>
</body></html>`
}

// TestBrowser drives t.js in headless Chromium against a real collector
// in front of the embedded Kafka: a landing page with UTM parameters and a
// click id, an SPA navigation, a click on a marked element, track and
// identify calls, 2 s of engaged time, then leaving the page (sendBeacon on
// pagehide), a second page load in the same profile, and a cookieless page
// on another origin. Every event lands on clickstream.events exactly once
// with the fields of DESIGN.md section 4.
func TestBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()

	s := collectortest.New(t, partitions, collector.DefaultConfig())
	if err := endpoints.Register(s.Server, endpoints.Config{}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: s.Server.Handler()}
	cs := httptest.NewServer(rec)
	t.Cleanup(cs.Close)

	mux := http.NewServeMux()
	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, body)
		}
	}
	mux.HandleFunc("GET /landing", html(pageHTML(cs.URL, "Landing", "")))
	mux.HandleFunc("GET /cookieless", html(pageHTML(cs.URL, "Cookieless", " data-cookieless")))
	mux.HandleFunc("GET /bye", html(`<!doctype html><title>Elsewhere</title><p>no tracker here</p>`))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ps := httptest.NewServer(mux)
	t.Cleanup(ps.Close)
	site := ps.URL // http://127.0.0.1:PORT
	// The same server under another name is another origin: its own
	// cookies and storage.
	other := strings.Replace(ps.URL, "127.0.0.1", "localhost", 1)

	b := browser.New(t)
	p := browser.NewPage(t, b)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := p.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	loaded := chromedp.Poll(`window.touchstream && window.touchstream.loaded === true`, nil, chromedp.WithPollingTimeout(10*time.Second))
	// waitBeacon waits until the collector has answered the sendBeacon
	// request with visitor aid's Page Engagement on path (sent when the
	// page is left), and then until no request came for half a second.
	waitBeacon := func(what, aid, path string) {
		t.Helper()
		for !rec.beaconed(aid, path) || !rec.quiet(500*time.Millisecond) {
			if ctx.Err() != nil {
				t.Fatalf("%s: no sendBeacon request with the engagement of %s on %s (%d requests)", what, aid, path, len(rec.requests()))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// 1. Landing page from a campaign link.
	landing := site + "/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring&gclid=CLICK-123"
	var aid, storedAid, cookies string
	run("landing page",
		chromedp.Navigate(landing), loaded,
		chromedp.Evaluate(`touchstream.anonymousId()`, &aid),
		chromedp.Evaluate(`localStorage.getItem('ts_aid')`, &storedAid),
		chromedp.Evaluate(`document.cookie`, &cookies),
	)
	if aid == "" || storedAid != aid || !strings.Contains(cookies, "ts_aid="+aid) {
		t.Fatalf("anonymous id %q, localStorage ts_aid %q, cookies %q: want it in both", aid, storedAid, cookies)
	}
	// 2. SPA navigation, 3. a click on (a child of) a marked element,
	// 4. track and identify, 5. engaged for 2 s, 6. away to a page
	// without the tracker: pagehide sends the rest with sendBeacon.
	run("SPA navigation and clicks",
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Click("#pricing", chromedp.ByQuery),
		chromedp.Click("#inner", chromedp.ByQuery),
		chromedp.Evaluate(`touchstream.track('Signup Started', {plan: 'pro', seats: 3}); touchstream.identify('user-42', {email: 'ada@example.com'}); true`, nil),
		chromedp.Sleep(2*time.Second), // past the 2 s flush: one fetch
		chromedp.Navigate(site+"/bye"),
	)
	waitBeacon("leaving the page", aid, "/pricing")

	// 7. Back on the site later in the same profile: same anonymous id,
	// the user id remembered; closing the tab sends with sendBeacon.
	var aid2 string
	run("second visit", chromedp.Navigate(site+"/landing"), loaded, chromedp.Evaluate(`touchstream.anonymousId()`, &aid2), chromedp.Sleep(400*time.Millisecond))
	if aid2 != aid {
		t.Errorf("anonymous id on the second visit %q, want %q", aid2, aid)
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors on the tracked pages:\n%s", strings.Join(errs, "\n"))
	}
	if err := p.Close(); err != nil {
		t.Fatalf("close tab: %v", err)
	}
	waitBeacon("closing the tab", aid, "/landing")

	// 8. Cookieless, on another origin: an id in memory for one page load
	// only, nothing stored.
	cp := browser.NewPage(t, b)
	var cl1, cl2, clStorage, clCookies string
	cookielessURL := other + "/cookieless?utm_source=ads&utm_medium=cpc&utm_campaign=winter&fbclid=FB-9"
	if err := cp.Run(ctx,
		chromedp.Navigate(cookielessURL), loaded,
		chromedp.Evaluate(`touchstream.anonymousId()`, &cl1),
		chromedp.Reload(), loaded,
		chromedp.Evaluate(`touchstream.anonymousId()`, &cl2),
		chromedp.Evaluate(`JSON.stringify([localStorage.length, sessionStorage.length])`, &clStorage),
		chromedp.Evaluate(`document.cookie`, &clCookies),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatalf("cookieless page: %v", err)
	}
	if cl1 == "" || cl1 == cl2 || cl1 == aid || clStorage != "[0,0]" || clCookies != "" {
		t.Errorf("cookieless: ids %q then %q (first-party id %q), storage lengths %s, cookies %q; want a new id per load and nothing stored", cl1, cl2, aid, clStorage, clCookies)
	}
	if errs := cp.Errors(); len(errs) > 0 {
		t.Errorf("console errors on the cookieless page:\n%s", strings.Join(errs, "\n"))
	}
	// The reload's pagehide sent the first load's events; closing sends
	// the second's.
	if err := cp.Close(); err != nil {
		t.Fatalf("close tab: %v", err)
	}
	waitBeacon("reloading the cookieless page", cl1, "/cookieless")
	waitBeacon("closing the cookieless tab", cl2, "/cookieless")

	checkLanded(t, s.Kafka, rec.requests(), landingWant{site: site, landing: landing, aid: aid, cookieless: []string{cl1, cl2}, cookielessURL: cookielessURL})
}

type landingWant struct {
	site, landing, aid string
	cookieless         []string // the cookieless page's ids, load by load
	cookielessURL      string
}

// checkLanded reads clickstream.events and checks it against what t.js
// sent: every event exactly once, with the right fields.
func checkLanded(t *testing.T, kafkaAddr string, reqs []sentRequest, want landingWant) {
	t.Helper()
	sent := map[string]map[string]any{} // messageId -> event as sent
	via := map[string]string{}          // messageId -> Sec-Fetch-Mode of its first request
	var fetches, beacons int
	for i, r := range reqs {
		if r.status != http.StatusOK {
			t.Errorf("request %d (%s): status %d", i, r.mode, r.status)
		}
		switch r.mode {
		case "cors":
			fetches++
		case "no-cors":
			beacons++
		default:
			t.Errorf("request %d: Sec-Fetch-Mode %q", i, r.mode)
		}
		for _, ev := range r.events {
			id, _ := ev["messageId"].(string)
			sent[id] = ev
			if via[id] == "" {
				via[id] = r.mode
			}
		}
	}
	t.Logf("t.js made %d fetch and %d sendBeacon requests with %d distinct events", fetches, beacons, len(sent))
	if fetches == 0 {
		t.Error("no request with fetch: the 2 s flush did not happen")
	}

	msgs := testenv.ReadTopic(t, kafkaAddr, pipeline.TopicEvents)
	seen := map[string]int{}
	var events []pipeline.Event
	for _, m := range msgs {
		var ev pipeline.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		seen[ev.MessageID]++
		if seen[ev.MessageID] > 1 {
			t.Errorf("event %s landed %d times", ev.MessageID, seen[ev.MessageID])
			continue
		}
		if _, ok := sent[ev.MessageID]; !ok {
			t.Errorf("event on %s that t.js did not send: %s", pipeline.TopicEvents, m.Value)
		}
		if string(m.Key) != ev.VisitorID || ev.Touchpoint != pipeline.TouchpointWeb || ev.LibraryName != "touchstream.js" || ev.WriteKey != "dev" {
			t.Errorf("event key %q: %s", m.Key, m.Value)
		}
		events = append(events, ev)
	}
	for id, ev := range sent {
		if seen[id] == 0 {
			t.Errorf("sent but not on %s: %v", pipeline.TopicEvents, ev)
		}
	}

	byVisitor := map[string][]pipeline.Event{}
	for _, ev := range events {
		byVisitor[ev.VisitorID] = append(byVisitor[ev.VisitorID], ev)
	}
	if len(byVisitor) != 3 {
		t.Errorf("%d visitors, want 3 (the first-party id and one per cookieless load)", len(byVisitor))
	}
	checkFirstParty(t, byVisitor[want.aid], sent, via, want)
	for i, id := range want.cookieless {
		evs := byVisitor[id]
		if len(evs) == 0 || evs[0].Type != pipeline.TypePage || evs[0].PageURL != want.cookielessURL ||
			evs[0].UTMSource != "ads" || evs[0].UTMMedium != "cpc" || evs[0].UTMCampaign != "winter" {
			t.Errorf("cookieless load %d (%s): %s", i+1, id, describe(evs))
		}
		for _, ev := range evs {
			if camp := campaign(sent[ev.MessageID]); camp["fbclid"] != "FB-9" {
				t.Errorf("cookieless event %s sent campaign %v, want fbclid FB-9", ev.MessageID, camp)
			}
			// The collector keeps the click id as the event's own.
			if ev.ClickIDType != "fbclid" || ev.ClickID != "FB-9" {
				t.Errorf("cookieless event %s: click id %q = %q in Kafka, want fbclid = FB-9", ev.MessageID, ev.ClickIDType, ev.ClickID)
			}
		}
	}
}

// checkFirstParty checks the events of the first-party visitor, in the
// order t.js sent them (Kafka keeps order per partition, and one visitor is
// one partition). via is how each event was first sent.
func checkFirstParty(t *testing.T, evs []pipeline.Event, sent map[string]map[string]any, via map[string]string, want landingWant) {
	t.Helper()
	// Leaving a page fires pagehide and then visibilitychange: t.js must
	// report the engagement once, so every event is its own item.
	type item struct {
		ev      pipeline.Event
		name    string
		engaged int64
	}
	var items []item
	var got []string
	for _, ev := range evs {
		name := ev.Type + ":" + ev.EventName + ":" + ev.PagePath
		items = append(items, item{ev: ev, name: name, engaged: ev.EngagementMS})
		got = append(got, name)
	}
	wantSeq := []string{
		"page::/landing",
		"track:Page Engagement:/landing", // left by the SPA navigation
		"page::/pricing",
		"track:Plan Chosen:/pricing",
		"track:Signup Started:/pricing",
		"identify::/pricing",
		"track:Page Engagement:/pricing", // pagehide, by sendBeacon
		"page::/landing",                 // the second visit
		"track:Page Engagement:/landing", // the tab closed, by sendBeacon
	}
	if !slices.Equal(got, wantSeq) {
		t.Fatalf("first-party events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantSeq, "\n  "))
	}

	pricing := want.site + "/pricing"
	for i, it := range items {
		ev := it.ev
		var props map[string]any
		json.Unmarshal(ev.Properties, &props)
		camp := campaign(sent[ev.MessageID])
		// The campaign of the landing URL stays for the session: on every
		// event, the SPA page and the second visit's included.
		if ev.UTMSource != "newsletter" || ev.UTMMedium != "email" || ev.UTMCampaign != "spring" || camp["gclid"] != "CLICK-123" {
			t.Errorf("event %d (%s): utm %q/%q/%q, sent campaign %v", i, got[i], ev.UTMSource, ev.UTMMedium, ev.UTMCampaign, camp)
		}
		// So does its click id, which the collector keeps as the event's
		// own: on the pages whose URL has none too.
		if ev.ClickIDType != "gclid" || ev.ClickID != "CLICK-123" {
			t.Errorf("event %d (%s): click id %q = %q in Kafka, want gclid = CLICK-123", i, got[i], ev.ClickIDType, ev.ClickID)
		}
		wantUser := ""
		if i >= 5 { // from the identify on, the second visit included
			wantUser = "user-42"
		}
		if ev.UserID != wantUser {
			t.Errorf("event %d (%s): user_id %q, want %q", i, got[i], ev.UserID, wantUser)
		}
		switch i {
		case 0:
			if ev.PageURL != want.landing || props["search"] != "?utm_source=newsletter&utm_medium=email&utm_campaign=spring&gclid=CLICK-123" || props["title"] != "Landing" {
				t.Errorf("landing page view: page_url %q, properties %v", ev.PageURL, props)
			}
		case 1:
			if it.engaged <= 0 || it.engaged > 10000 || ev.PageURL != want.landing {
				t.Errorf("landing engagement: %d ms, page_url %q", it.engaged, ev.PageURL)
			}
		case 2:
			if ev.PageURL != pricing || ev.Referrer != want.landing || props["title"] != "Pricing" {
				t.Errorf("SPA page view: page_url %q, referrer %q, properties %v", ev.PageURL, ev.Referrer, props)
			}
		case 3:
			if fmt.Sprint(props) != "map[plan_id:pro]" || ev.PageURL != pricing {
				t.Errorf("click: properties %v, page_url %q", props, ev.PageURL)
			}
		case 4:
			if props["plan"] != "pro" || props["seats"] != 3.0 {
				t.Errorf("track: properties %v", props)
			}
		case 5:
			if props["email"] != "ada@example.com" {
				t.Errorf("identify: traits %v", props)
			}
		case 6:
			// Engaged for the 2 s sleep at least, on the SPA page; sent
			// on pagehide by sendBeacon.
			if it.engaged < 1900 || it.engaged > 20000 || ev.PageURL != pricing || via[ev.MessageID] != "no-cors" {
				t.Errorf("pagehide engagement: %d ms, page_url %q, sent with Sec-Fetch-Mode %q (want no-cors: sendBeacon)", it.engaged, ev.PageURL, via[ev.MessageID])
			}
		case 7:
			// Typed into the address bar: no referrer.
			if ev.PageURL != want.site+"/landing" || ev.Referrer != "" {
				t.Errorf("second visit: page_url %q, referrer %q", ev.PageURL, ev.Referrer)
			}
		case 8:
			if it.engaged < 300 || via[ev.MessageID] != "no-cors" {
				t.Errorf("engagement on closing the tab: %d ms, sent with Sec-Fetch-Mode %q (want no-cors: sendBeacon)", it.engaged, via[ev.MessageID])
			}
		}
	}
}

// campaign is context.campaign of an event as t.js sent it.
func campaign(ev map[string]any) map[string]any {
	ctx, _ := ev["context"].(map[string]any)
	c, _ := ctx["campaign"].(map[string]any)
	return c
}

func describe(evs []pipeline.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		u, _ := url.Parse(ev.PageURL)
		fmt.Fprintf(&b, "\n  %s %q %s utm=%s/%s/%s", ev.Type, ev.EventName, u, ev.UTMSource, ev.UTMMedium, ev.UTMCampaign)
	}
	return b.String()
}
