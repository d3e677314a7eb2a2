package generate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/pipeline"
)

var testSecret = []byte("generate-test-link-secret")

// handBuilt is a world of n page views of n/10 visitors, a second apart.
func handBuilt(n int) *World {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Type: pipeline.TypePage, Name: "Home", Time: testStart.Add(time.Duration(i) * time.Second),
			AnonymousID: fmt.Sprintf("v-%d", i%max(1, n/10)), Page: Page{URL: site + "/", Path: "/"}, Properties: map[string]any{}}
	}
	return FromEvents(evs)
}

// TestSendRate: at --rate 100, 200 events take at least about 1.9 s (the
// first tenth of a second's worth goes at once), in batches of at most 10;
// only the lower bound is checked, so a slow machine cannot fail it.
func TestSendRate(t *testing.T) {
	w := handBuilt(200)
	rec := &recorder{}
	var progress bytes.Buffer
	stats, err := Send(t.Context(), w, startCollector(t, rec), SendOptions{BatchSize: 100, Concurrency: 4, Rate: 100, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events != 200 || stats.Batches != 20 {
		t.Fatalf("stats %+v, want 200 events in 20 batches", stats)
	}
	if stats.Elapsed < 1500*time.Millisecond {
		t.Fatalf("200 events at 100/s took %s, want >= 1.5 s", stats.Elapsed)
	}
	for _, r := range rec.all() {
		if len(r.ids) > 10 {
			t.Fatalf("a batch of %d events at 100/s, want <= 10", len(r.ids))
		}
	}
	if p := progress.String(); !strings.Contains(p, "] 200/200 events") || !strings.Contains(p, "(limit 100/s)") {
		t.Fatalf("progress %q", p)
	}

	// Without a rate, the same events go at once.
	stats, err = Send(t.Context(), w, startCollector(t, &recorder{}), SendOptions{BatchSize: 100})
	if err != nil || stats.Batches != 2 {
		t.Fatalf("unlimited: %+v, %v", stats, err)
	}
}

// TestSendEndpoints: opens go to the pixel, clicks to the redirect signed
// with the secret, after every other event, each once.
func TestSendEndpoints(t *testing.T) {
	w := testWorld(t, 150, 11)
	segment, pixels, clicks := countVia(w, true)
	if pixels == 0 || clicks == 0 {
		t.Fatalf("%d opens, %d clicks in the world", pixels, clicks)
	}
	rec := &recorder{secret: testSecret}
	stats, err := Send(t.Context(), w, startCollector(t, rec), SendOptions{BatchSize: 40, Concurrency: 1, LinkSecret: testSecret, WriteKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events != len(w.Events()) || stats.Pixels != pixels || stats.Clicks != clicks || stats.SegmentClicks != 0 ||
		stats.Batches != (segment+39)/40 || stats.Requests != stats.Batches+pixels+clicks {
		t.Fatalf("stats %+v; %d segment, %d pixel, %d click events", stats, segment, pixels, clicks)
	}
	seen := rec.received()
	for i := range w.Events() {
		if k := receivedAs(&w.Events()[i], true); seen[k] != 1 {
			t.Fatalf("%s received %d times", k, seen[k])
		}
	}
	if len(seen) != len(w.Events()) {
		t.Fatalf("%d distinct events received, want %d", len(seen), len(w.Events()))
	}
	// With one connection, the clicks come last.
	if first := slices.Index(rec.kinds, "click"); first != len(rec.kinds)-clicks {
		t.Fatalf("requests %v: want the %d clicks last", rec.kinds, clicks)
	}
	byRecipient := map[string]*Event{}
	for i := range w.Events() {
		if e := &w.Events()[i]; e.Via == ViaRedirect {
			byRecipient[e.UserID] = e
		}
	}
	for _, l := range rec.clicks {
		e := byRecipient[l.Recipient]
		if e == nil || l.URL != e.Page.URL || l.Campaign != e.Campaign.Name || l.Source != e.Campaign.Source ||
			l.Touchpoint != e.Campaign.Medium || l.WriteKey != "k" || !l.Expires.IsZero() {
			t.Fatalf("link %+v for click %+v", l, e)
		}
	}
}

// TestSendEndpointFailures: a click signed with another secret, a pixel
// the collector refuses and a short secret stop the send with an error
// that says so.
func TestSendEndpointFailures(t *testing.T) {
	w := testWorld(t, 150, 11)
	_, err := Send(t.Context(), w, startCollector(t, &recorder{secret: []byte("another-secret-of-the-collector")}), SendOptions{LinkSecret: testSecret})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden || !strings.Contains(err.Error(), "TOUCHSTREAM_LINK_SECRET") {
		t.Errorf("wrong secret: %v", err)
	}
	_, err = Send(t.Context(), w, startCollector(t, &recorder{pixelError: "anonymousId (aid) or userId (uid) is required"}), SendOptions{})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "aid") {
		t.Errorf("pixel refused: %v", err)
	}
	_, err = Send(t.Context(), w, startCollector(t, &recorder{}), SendOptions{LinkSecret: testSecret})
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || !strings.Contains(err.Error(), "serves no signed links") {
		t.Errorf("no redirect: %v", err)
	}
	if _, err = Send(t.Context(), w, startCollector(t, &recorder{}), SendOptions{LinkSecret: []byte("short")}); !errors.Is(err, redirect.ErrWeakSecret) {
		t.Errorf("short secret: %v", err)
	}
}

// TestPixelURL: the query string carries the event as generated.
func TestPixelURL(t *testing.T) {
	e := Event{
		MessageID: "m-1", Type: pipeline.TypeTrack, Name: "Email Opened", Time: testStart.Add(1500 * time.Millisecond),
		AnonymousID: "v-1", UserID: "u-1", Campaign: &followUpCampaign,
		Properties: map[string]any{"touchpoint": "email", "order_id": "order-1-2", "subject": "How & why?"},
	}
	raw, err := e.PixelURL("http://c", "dev")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Path != "/pixel/v1/track" {
		t.Fatalf("%s: %v", raw, err)
	}
	q := u.Query()
	for k, v := range map[string]string{
		"writeKey": "dev", "messageId": "m-1", "timestamp": "2026-03-01T00:00:01.500Z", "anonymousId": "v-1", "userId": "u-1",
		"event": "Email Opened", "touchpoint": "email", "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "order_followup",
	} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	p, err := base64.RawURLEncoding.DecodeString(q.Get("p"))
	var props map[string]any
	if err != nil || json.Unmarshal(p, &props) != nil || props["order_id"] != "order-1-2" || props["subject"] != "How & why?" {
		t.Errorf("p %q: %v %v", q.Get("p"), props, err)
	}
	if _, err := (&Event{Type: pipeline.TypeIdentify}).PixelURL("http://c", "dev"); err == nil {
		t.Error("an identify through the pixel")
	}
}
