package generate

import (
	"math"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// checkOmnichannel checks the ads, leads and post-purchase events of a
// generated world: every kind is there, with its touchpoint, score and
// campaign, and only where it belongs in a visitor's journey.
func checkOmnichannel(t *testing.T, w *World) {
	t.Helper()
	touchpoint := map[string]string{
		"Ad Impression": pipeline.TouchpointWeb, "Ad Clicked": pipeline.TouchpointWeb,
		"Lead Submitted": pipeline.TouchpointWeb, "Demo Requested": pipeline.TouchpointWeb,
		"Email Opened": pipeline.TouchpointEmail, "NPS Rated": pipeline.TouchpointEmail,
		"Chat Started": pipeline.TouchpointChat, "CSAT Rated": pipeline.TouchpointChat,
		"Referral Sent": pipeline.TouchpointSocial, "Product Shared": pipeline.TouchpointSocial,
		"Social Share": pipeline.TouchpointSocial,
	}
	afterOrder := map[string]bool{"Email Opened": true, "NPS Rated": true, "Chat Started": true, "CSAT Rated": true,
		"Referral Sent": true, "Product Shared": true, "Social Share": true}
	counts := map[string]int{}
	firstOrder := map[string]time.Time{}
	nps := map[int]int{}
	for _, e := range w.Events() {
		if e.IsTrack(pipeline.EventOrderCompleted) {
			if _, ok := firstOrder[e.AnonymousID]; !ok {
				firstOrder[e.AnonymousID] = e.Time
			}
		}
		want, ok := touchpoint[e.Name]
		if !ok || e.Type != pipeline.TypeTrack {
			continue
		}
		counts[e.Name]++
		if e.Properties["touchpoint"] != want {
			t.Fatalf("%s %s: touchpoint %v, want %s", e.Name, e.MessageID, e.Properties["touchpoint"], want)
		}
		if o, ok := firstOrder[e.AnonymousID]; afterOrder[e.Name] && (!ok || !e.Time.After(o)) {
			t.Fatalf("%s %s of %s is not after an order", e.Name, e.MessageID, e.AnonymousID)
		}
		switch e.Name {
		case "Ad Impression", "Ad Clicked":
			if c := e.Campaign; c == nil || (c.Medium != "cpc" && c.Medium != "paid_social" && c.Medium != "display") {
				t.Fatalf("%s %s: campaign %+v, want a paid one", e.Name, e.MessageID, e.Campaign)
			}
		case "Email Opened":
			if c := e.Campaign; c == nil || c.Medium != "email" {
				t.Fatalf("%s %s: campaign %+v, want utm_medium email", e.Name, e.MessageID, e.Campaign)
			}
		case "NPS Rated":
			f, ok := e.wholeIn(0, 10)
			if !ok {
				t.Fatalf("NPS %s: score %v", e.MessageID, e.Properties["score"])
			}
			nps[int(f)]++
		case "CSAT Rated":
			if _, ok := e.wholeIn(1, 5); !ok {
				t.Fatalf("CSAT %s: score %v", e.MessageID, e.Properties["score"])
			}
		}
	}
	for name := range touchpoint {
		if counts[name] == 0 {
			t.Errorf("no %s events", name)
		}
	}
	if counts["Ad Clicked"] >= counts["Ad Impression"] {
		t.Errorf("%d ad clicks, %d impressions: want fewer clicks", counts["Ad Clicked"], counts["Ad Impression"])
	}
	var promoters, passives, detractors int
	for s, n := range nps {
		switch {
		case s >= 9:
			promoters += n
		case s >= 7:
			passives += n
		default:
			detractors += n
		}
	}
	if promoters == 0 || passives == 0 || detractors == 0 || promoters <= detractors {
		t.Errorf("NPS answers: %d promoters, %d passives, %d detractors", promoters, passives, detractors)
	}

	// An ad's events start their session, the impression before the click,
	// and the click leads to the landing page, which carries the campaign.
	byVisitor := map[string][]*Event{}
	for i := range w.Events() {
		e := &w.Events()[i]
		byVisitor[e.AnonymousID] = append(byVisitor[e.AnonymousID], e)
	}
	for v, evs := range byVisitor {
		for _, s := range sessionize(evs) {
			for j, e := range s.events {
				if !e.IsTrack("Ad Clicked") {
					continue
				}
				if j == 0 || !s.events[j-1].IsTrack("Ad Impression") {
					t.Fatalf("%s: Ad Clicked %s not right after an impression", v, e.MessageID)
				}
				for _, f := range s.events[:j] {
					if f.Type != pipeline.TypeTrack || f.Name != "Ad Impression" {
						t.Fatalf("%s: %s %s before the ad click of its session", v, f.Type, f.Name)
					}
				}
				if j+1 >= len(s.events) || !s.events[j+1].IsView() || s.events[j+1].Page.Search == "" {
					t.Fatalf("%s: the ad click %s is not followed by a campaign landing page", v, e.MessageID)
				}
			}
		}
	}
}

func TestGenerateOmnichannelSeeds(t *testing.T) {
	for _, seed := range []int64{2, 3} {
		checkOmnichannel(t, testWorld(t, 500, seed))
	}
}

// The omnichannel events draw on their own random source: the visitors'
// page views and shop events are where they were, give or take the
// sessions a follow-up pushed later.
func TestGenerateOmnichannelKeepsShopping(t *testing.T) {
	w := testWorld(t, 500, 1)
	x := w.Expected(nil, 0, 0)
	orders, views := 0, 0
	for _, e := range w.Events() {
		if e.IsTrack(pipeline.EventOrderCompleted) {
			orders++
		}
		if e.IsView() {
			views++
		}
	}
	if orders != x.Orders || views == 0 {
		t.Fatalf("orders %d, expected %d; views %d", orders, x.Orders, views)
	}
	st := x.Stages
	if st.AdImpressions == 0 || st.AdClicks == 0 || st.Leads == 0 || st.CSATResponses == 0 || st.NPSResponses == 0 ||
		st.Referrals == 0 || st.SocialShares == 0 || st.CTR <= 0 || st.CTR >= 1 || st.CSAT <= 0 || st.CSAT > 100 ||
		st.NPS <= -100 || st.NPS >= 100 {
		t.Fatalf("stages %+v", st)
	}
}

func TestExpectedStagesHandBuilt(t *testing.T) {
	page := func(v string, at time.Duration, name string) Event {
		e := ev(v, at, "/x")
		e.Name = name
		return e
	}
	w := FromEvents([]Event{
		ev("a", 0, "Ad Impression"), ev("a", time.Second, "Ad Impression"), ev("a", 2*time.Second, "Ad Viewed"),
		ev("a", 3*time.Second, "Ad Clicked"), ev("a", 4*time.Second, "Ad Click"),
		page("a", 5*time.Second, "Ad Impression"), // a page named so is not an event named so
		ev("b", 0, "Lead Submitted"), ev("b", 1, "Demo Requested"), ev("b", 2, "Trial Started"), ev("b", 3, "Signed Up"),
		ev("b", 4, "Lead Created"), page("b", 5, "Signed Up"),
		// CSAT: 5, 4 (as a string), 4.0 satisfied; 3, 1 not; 4.5, 0, 6, missing, "x" are no answers.
		ev("c", 0, "CSAT Rated", "score", 5), ev("c", 1, "CSAT Submitted", "score", "4"), ev("c", 2, "CSAT Rated", "score", 4.0),
		ev("c", 3, "CSAT Rated", "score", 3), ev("c", 4, "CSAT Submitted", "score", int64(1)),
		ev("c", 5, "CSAT Rated", "score", 4.5), ev("c", 6, "CSAT Rated", "score", 0), ev("c", 7, "CSAT Rated", "score", 6),
		ev("c", 8, "CSAT Rated"), ev("c", 9, "CSAT Rated", "score", "x"), ev("c", 10, "NPS Rated", "score", 5.0),
		// NPS: promoters 10, 9, "9"; passives 8, 7; detractors 6, 0, 5.0 (above); no answers: 11, -1, 8.5, none.
		ev("d", 0, "NPS Rated", "score", 10), ev("d", 1, "NPS Submitted", "score", 9), ev("d", 2, "Survey Answered", "score", "9"),
		ev("d", 3, "NPS Rated", "score", 8), ev("d", 4, "NPS Rated", "score", 7.0),
		ev("d", 5, "NPS Rated", "score", 6), ev("d", 6, "Survey Answered", "score", 0),
		ev("d", 7, "NPS Rated", "score", 11), ev("d", 8, "NPS Rated", "score", -1), ev("d", 9, "NPS Rated", "score", 8.5),
		ev("d", 10, "Survey Answered"), ev("d", 11, "CSAT Rated", "score", 9),
		ev("e", 0, "Referral Sent"), ev("e", 1, "Referral Sent"), ev("e", 2, "Referral Link Shared"),
		ev("e", 3, "Social Share"), ev("e", 4, "Product Shared"), ev("e", 5, "Content Shared"), ev("e", 6, "Cart Shared"),
		page("e", 7, "Social Share"),
	})
	got := w.Expected(nil, 0, 0).Stages
	want := Stages{
		AdImpressions: 3, AdClicks: 1, CTR: 1.0 / 3,
		Leads: 4,
		CSAT:  60, CSATResponses: 5,
		NPS: 0, NPSResponses: 8, // 3 promoters, 3 detractors of 8
		Referrals: 2, SocialShares: 3,
	}
	if got != want {
		t.Fatalf("stages %+v, want %+v", got, want)
	}
	// One more promoter: (4 - 3) / 9.
	w = FromEvents(append(w.Events(), ev("f", 0, "NPS Rated", "score", 10)))
	if got := w.Expected(nil, 0, 0).Stages.NPS; math.Abs(got-100.0/9) > 1e-12 {
		t.Fatalf("nps %v, want %v", got, 100.0/9)
	}
	if got := FromEvents(nil).Expected(nil, 0, 0).Stages; got != (Stages{}) {
		t.Fatalf("empty world: %+v", got)
	}
}

func TestStagesKPIs(t *testing.T) {
	k := Stages{AdImpressions: 3, AdClicks: 1, CTR: 1.0 / 3, Leads: 4, CSAT: 60, CSATResponses: 5,
		NPS: -12.5, NPSResponses: 8, Referrals: 2, SocialShares: 7}.KPIs()
	want := map[string]float64{"ad_impressions": 3, "ad_clicks": 1, "ctr": 1.0 / 3, "leads": 4, "csat": 60,
		"csat_responses": 5, "nps": -12.5, "nps_responses": 8, "referrals": 2, "social_shares": 7}
	if len(k) != len(want) {
		t.Fatalf("kpis %v, want %v", k, want)
	}
	for name, v := range want {
		if k[name] != v {
			t.Fatalf("kpis %v, want %v", k, want)
		}
	}
}
