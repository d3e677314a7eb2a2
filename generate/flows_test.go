package generate

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// TestFlowsClicks: every click on an email or SMS link is by a recipient
// the shop knows (a user id identified before the click), is its visitor's
// only event, carries a campaign whose medium is its touchpoint and a
// target with the same utm parameters, and a cart-recovery click comes
// seconds before the session that orders the cart, which carries its
// campaign. Both email and SMS clicks, and both flows, are there. Opens go
// through the pixel.
func TestFlowsClicks(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		w := testWorld(t, 500, seed)
		identified := map[string]time.Time{}
		perVisitor := map[string]int{}
		for _, e := range w.Events() {
			perVisitor[e.Visitor()]++
			if e.Type == pipeline.TypeIdentify {
				if _, ok := identified[e.UserID]; !ok {
					identified[e.UserID] = e.Time
				}
			}
		}
		kinds := map[string]int{}
		for i, e := range w.Events() {
			switch e.Via {
			case ViaPixel:
				if !e.IsTrack("Email Opened") || e.AnonymousID == "" {
					t.Fatalf("seed %d: %s %s through the pixel", seed, e.Type, e.Name)
				}
				kinds["open"]++
				continue
			case ViaRedirect:
			default:
				if e.Name == EventEmailLinkClicked || e.Name == EventSMSLinkClicked || e.Name == "Email Opened" {
					t.Fatalf("seed %d: %s %s through the Segment API", seed, e.Name, e.MessageID)
				}
				continue
			}
			c := e.Campaign
			at, known := identified[e.UserID]
			if e.AnonymousID != "" || !known || !at.Before(e.Time) || perVisitor[e.Visitor()] != 1 || c == nil {
				t.Fatalf("seed %d: click %+v (identified %v at %v)", seed, e, known, at)
			}
			tp := e.Properties["touchpoint"]
			wantName := map[any]string{pipeline.TouchpointEmail: EventEmailLinkClicked, pipeline.TouchpointSMS: EventSMSLinkClicked}[tp]
			u, err := url.Parse(e.Page.URL)
			if err != nil || e.Name != wantName || c.Medium != tp || e.Properties["campaign"] != c.Name || e.Properties["url"] != e.Page.URL ||
				u.Path != e.Page.Path || u.Query().Get("utm_medium") != c.Medium || u.Query().Get("utm_campaign") != c.Name {
				t.Fatalf("seed %d: click %s %+v props %v", seed, e.Name, *c, e.Properties)
			}
			kinds[e.Name+" "+c.Name]++
			if c.Name != "cart_recovery" {
				continue
			}
			// The visitor's next event lands on the clicked link's target.
			anon := "v-" + e.UserID[len("u-"):]
			var next *Event
			for j := i + 1; j < len(w.Events()) && next == nil; j++ {
				if f := &w.Events()[j]; f.AnonymousID == anon {
					next = f
				}
			}
			if next == nil || !next.IsView() || next.Page.URL != e.Page.URL || next.Time.Sub(e.Time) > 5*time.Second || *next.Campaign != *c {
				t.Fatalf("seed %d: recovery click %s at %v, then %+v", seed, e.MessageID, e.Time, next)
			}
		}
		for _, k := range []string{"open", EventEmailLinkClicked + " cart_recovery", EventSMSLinkClicked + " cart_recovery", EventEmailLinkClicked + " order_followup"} {
			if kinds[k] == 0 {
				t.Errorf("seed %d: no %s (%v)", seed, k, kinds)
			}
		}
	}
}

// TestFlowsClickTimeFree: the collector records a click at the time it
// receives it, not the generated one. Moving every click to a day after the
// range (when `generate` runs) changes none of the answers.
func TestFlowsClickTimeFree(t *testing.T) {
	w := testWorld(t, 500, 3)
	moved := make([]Event, len(w.Events()))
	copy(moved, w.Events())
	n := 0
	for i := range moved {
		if moved[i].Via == ViaRedirect {
			moved[i].Time = w.Config.End().Add(time.Duration(24*60+n) * time.Minute)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no clicks")
	}
	steps := []string{pipeline.EventProductViewed, EventEmailLinkClicked + "|" + EventSMSLinkClicked, pipeline.EventOrderCompleted}
	for _, st := range [][]string{nil, steps} {
		want, got := w.Expected(st, 0, 0), FromEvents(moved).Expected(st, 0, 0)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("steps %v: with the clicks moved\n%+v\nwant\n%+v", st, got, want)
		}
	}
}
