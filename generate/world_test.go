package generate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

var testStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func testWorld(t *testing.T, visitors int, seed int64) *World {
	t.Helper()
	return Generate(Config{Visitors: visitors, Seed: seed, Days: 7, Start: testStart})
}

func payloadJSON(t *testing.T, w *World) []string {
	t.Helper()
	out := make([]string, len(w.Events()))
	for i := range w.Events() {
		b, err := json.Marshal(w.Events()[i].Payload())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := testWorld(t, 200, 7), testWorld(t, 200, 7)
	if len(a.Events()) == 0 {
		t.Fatal("no events")
	}
	if !reflect.DeepEqual(payloadJSON(t, a), payloadJSON(t, b)) {
		t.Fatal("same config, different events")
	}
	if !reflect.DeepEqual(a.Expected(nil, 0, 0), b.Expected(nil, 0, 0)) {
		t.Fatal("same config, different answers")
	}
	c := testWorld(t, 200, 8)
	if reflect.DeepEqual(payloadJSON(t, a), payloadJSON(t, c)) {
		t.Fatal("different seeds, same events")
	}
	// A visitor's events do not depend on how many other visitors there are.
	small := testWorld(t, 50, 7)
	for _, e := range small.Events() {
		var found bool
		for _, f := range a.Events() {
			if f.MessageID == e.MessageID {
				found = reflect.DeepEqual(e, f)
				break
			}
		}
		if !found {
			t.Fatalf("event %s of the 50-visitor world differs in the 200-visitor world", e.MessageID)
		}
	}
	// The answers do not depend on Start.
	later := Generate(Config{Visitors: 200, Seed: 7, Days: 7, Start: testStart.AddDate(0, 1, 3)})
	if !reflect.DeepEqual(a.Expected(nil, 0, 0), later.Expected(nil, 0, 0)) {
		t.Fatal("answers depend on Start")
	}
}

func TestGenerateDefaultStart(t *testing.T) {
	w := Generate(Config{Visitors: 20, Seed: 1})
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if want := today.AddDate(0, 0, -7); !w.Config.Start.Equal(want) {
		t.Fatalf("start %v, want %v", w.Config.Start, want)
	}
	for _, e := range w.Events() {
		if !e.Time.Before(today) {
			t.Fatalf("event %s at %v is not before today", e.MessageID, e.Time)
		}
	}
}

func TestGenerateStructure(t *testing.T) {
	w := testWorld(t, 500, 1)
	cfg := w.Config
	ids := map[string]bool{}
	byVisitor := map[string][]Event{}
	for i, e := range w.Events() {
		if ids[e.MessageID] {
			t.Fatalf("duplicate message id %s", e.MessageID)
		}
		ids[e.MessageID] = true
		if e.Time.Before(cfg.Start) || !e.Time.Before(cfg.End()) {
			t.Fatalf("event %s at %v outside [%v, %v)", e.MessageID, e.Time, cfg.Start, cfg.End())
		}
		if i > 0 && e.Time.Before(w.Events()[i-1].Time) {
			t.Fatal("events not in time order")
		}
		if !e.Time.Equal(e.Time.Truncate(time.Millisecond)) {
			t.Fatalf("event time %v has sub-millisecond precision", e.Time)
		}
		byVisitor[e.Visitor()] = append(byVisitor[e.Visitor()], e)
	}
	// Sessions with a page view are browsing (1-4 a visitor); the others
	// are a customer's follow-ups (the post-purchase email, a support chat)
	// and clicks on email and SMS links (a session of the click's own
	// visitor; see flows_test.go).
	perVisitor, followUps := map[string]int{}, map[string]int{}
	var prev *Session
	for i := range w.Sessions() {
		s := &w.Sessions()[i]
		if s.PageViews > 0 {
			perVisitor[s.Visitor]++
		} else {
			followUps[s.Visitor]++
		}
		if prev != nil && prev.Visitor == s.Visitor && s.Start.Sub(prev.End) <= 2*time.Hour {
			t.Fatalf("%s: sessions %v-%v and %v-%v are not 2 h apart", s.Visitor, prev.Start, prev.End, s.Start, s.End)
		}
		prev = s
		var in []Event
		for _, e := range byVisitor[s.Visitor] {
			if !e.Time.Before(s.Start) && !e.Time.After(s.End) {
				in = append(in, e)
			}
		}
		if len(in) != s.Events {
			t.Fatalf("%s: session %v has %d events, %d in its time range", s.Visitor, s.Start, s.Events, len(in))
		}
		for j := 1; j < len(in); j++ {
			if gap := in[j].Time.Sub(in[j-1].Time); gap >= 30*time.Minute || gap <= 0 {
				t.Fatalf("%s: gap %v inside a session", s.Visitor, gap)
			}
		}
	}
	for v, n := range perVisitor {
		if n < 1 || n > 4 {
			t.Fatalf("%s has %d sessions", v, n)
		}
	}
	for v, n := range followUps {
		if n > 2 {
			t.Fatalf("%s has %d follow-up sessions", v, n)
		}
	}
	if len(perVisitor) != 500 {
		t.Fatalf("%d visitors with sessions, want 500", len(perVisitor))
	}
	// Sessionizing with a 30-minute timeout finds the generated sessions.
	x := w.Expected(nil, 0, 0)
	if x.TimeOnSite.Sessions != len(w.Sessions()) {
		t.Fatalf("sessionized %d sessions, generated %d", x.TimeOnSite.Sessions, len(w.Sessions()))
	}

	// Every kind of event and field the reports need is there.
	kinds := map[string]int{}
	for _, e := range w.Events() {
		kinds[e.Type+":"+e.Name]++
		switch {
		case e.IsView():
			if _, ok := e.Properties["engagement_time_msec"].(int64); !ok || e.Page.URL == "" || e.Page.Path == "" {
				t.Fatalf("page event %s lacks url, path or engagement time", e.MessageID)
			}
		case e.IsTrack(pipeline.EventProductAdded), e.IsTrack(pipeline.EventCheckoutStarted):
			if e.CartID() == "" {
				t.Fatalf("%s %s without cart_id", e.Name, e.MessageID)
			}
		case e.IsTrack(pipeline.EventOrderCompleted):
			if e.CartID() == "" || e.Properties["order_id"] == "" || e.Revenue() <= 0 || e.Properties["currency"] != "USD" {
				t.Fatalf("order %s: %v", e.MessageID, e.Properties)
			}
		}
	}
	for _, k := range []string{"page:Home", "page:Product", "page:Cart", "page:Checkout", "page:Order Confirmation",
		"track:" + pipeline.EventProductViewed, "track:" + pipeline.EventProductAdded,
		"track:" + pipeline.EventCheckoutStarted, "track:" + pipeline.EventOrderCompleted, "identify:"} {
		if kinds[k] == 0 {
			t.Errorf("no %s events", k)
		}
	}
	checkOmnichannel(t, w)
	var campaign, user bool
	for _, e := range w.Events() {
		campaign = campaign || e.Campaign != nil
		user = user || e.UserID != ""
	}
	if !campaign || !user {
		t.Errorf("campaign sessions %v, identified visitors %v; want both", campaign, user)
	}
}

func TestGeneratePayload(t *testing.T) {
	w := testWorld(t, 50, 1)
	for _, e := range w.Events() {
		p := e.Payload()
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 32<<10 {
			t.Fatalf("event %s is %d bytes", e.MessageID, len(b))
		}
		ts, err := time.Parse(time.RFC3339Nano, p["timestamp"].(string))
		if err != nil || !ts.Equal(e.Time) {
			t.Fatalf("timestamp %v: %v", p["timestamp"], err)
		}
		ctx := p["context"].(map[string]any)
		if ctx["library"].(map[string]any)["name"] != LibraryName {
			t.Fatalf("context.library %v", ctx["library"])
		}
		switch e.Type {
		case pipeline.TypeTrack:
			if p["event"] != e.Name {
				t.Fatalf("track without event: %s", b)
			}
		case pipeline.TypePage:
			props := p["properties"].(map[string]any)
			if props["url"] == "" || props["path"] == "" || ctx["page"] == nil {
				t.Fatalf("page without url/path: %s", b)
			}
		case pipeline.TypeIdentify:
			if p["userId"] == "" || p["traits"] == nil {
				t.Fatalf("identify without userId/traits: %s", b)
			}
		}
	}
}

func TestBatches(t *testing.T) {
	w := testWorld(t, 100, 3)
	for _, shuffle := range []bool{false, true} {
		var ids []string
		batches := w.Batches(64, shuffle)
		for i, b := range batches {
			if len(b) == 0 || len(b) > 64 || (i < len(batches)-1 && len(b) != 64) {
				t.Fatalf("batch %d has %d events", i, len(b))
			}
			for _, e := range b {
				ids = append(ids, e["messageId"].(string))
			}
		}
		if len(ids) != len(w.Events()) {
			t.Fatalf("shuffle %v: %d events in batches, want %d", shuffle, len(ids), len(w.Events()))
		}
		inOrder := true
		for i, e := range w.Events() {
			inOrder = inOrder && ids[i] == e.MessageID
		}
		if inOrder == shuffle {
			t.Fatalf("shuffle %v: batches in time order %v", shuffle, inOrder)
		}
	}
}
