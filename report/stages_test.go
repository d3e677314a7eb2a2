package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
)

// stageEv is one row of events with the columns the stages report reads.
type stageEv struct {
	id, visitor, name string
	typ               string // "track" when empty
	stage             string
	at                time.Time
	revenue           float64
	props             string // properties JSON
	cart, session     string
	site              string
	insertedAt        time.Time // set to replace an earlier row of the same id
}

// insertStageEvents inserts rows with one plain INSERT ... VALUES statement.
func insertStageEvents(t *testing.T, conn driver.Conn, rows ...stageEv) {
	t.Helper()
	var values []string
	for _, r := range rows {
		typ, inserted := r.typ, r.insertedAt
		if typ == "" {
			typ = "track"
		}
		if inserted.IsZero() {
			inserted = time.Now()
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %v, %s, %s, %s, %s, %s)",
			sqlString(r.id), sqlTime(r.at), sqlString(typ), sqlString(r.name), sqlString(r.visitor), sqlString(r.stage),
			r.revenue, sqlString(r.props), sqlString(r.cart), sqlString(r.session), sqlString(r.site), sqlTime(inserted)))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, type, event_name, visitor_id, stage, revenue, properties, cart_id, session_id, write_key, inserted_at) VALUES "+
		strings.Join(values, ", "))
}

// score is properties with a score.
func score(v any) string {
	b, _ := json.Marshal(map[string]any{"score": v})
	return string(b)
}

// wantStage is a stage's expected counts and KPIs, in order.
type wantStage struct {
	visitors, events uint64
	kpis             KPIs
}

func checkStages(t *testing.T, got *StagesReport, want []wantStage) {
	t.Helper()
	if len(got.Stages) != len(stageNames) || len(want) != len(stageNames) {
		t.Fatalf("got %d stages %+v, want %d", len(got.Stages), got.Stages, len(stageNames))
	}
	for i, w := range want {
		g := got.Stages[i]
		if g.Stage != stageNames[i] || g.Visitors != w.visitors || g.Events != w.events {
			t.Errorf("stage %d = %s visitors %d events %d, want %s %d %d", i+1, g.Stage, g.Visitors, g.Events,
				stageNames[i], w.visitors, w.events)
		}
		if len(g.KPIs) != len(w.kpis) {
			t.Errorf("%s kpis = %v, want %v", g.Stage, g.KPIs, w.kpis)
			continue
		}
		for j, k := range w.kpis {
			if g.KPIs[j].Name != k.Name || !near(g.KPIs[j].Value, k.Value) {
				t.Errorf("%s kpi %d = %s %v, want %s %v", g.Stage, j+1, g.KPIs[j].Name, g.KPIs[j].Value, k.Name, k.Value)
			}
		}
	}
}

// toNext are the KPIs from a stage to the next (every stage's but
// advocacy's, last in its KPIs).
func toNext(visitors, conversion, medianSeconds float64) KPIs {
	return KPIs{{"visitors_to_next", visitors}, {"conversion_to_next", conversion}, {"median_seconds_to_next", medianSeconds}}
}

// zeroStages are the stages of an empty range: every KPI 0.
func zeroStages() []wantStage {
	return []wantStage{
		{kpis: append(KPIs{{"sessions", 0}, {"ad_impressions", 0}, {"ad_clicks", 0}, {"ctr", 0}}, toNext(0, 0, 0)...)},
		{kpis: append(KPIs{{"engagement_rate", 0}, {"mean_time_on_site_seconds", 0}, {"leads", 0}, {"lead_conversion_rate", 0}}, toNext(0, 0, 0)...)},
		{kpis: append(KPIs{{"orders", 0}, {"conversion_rate", 0}, {"aov", 0}, {"cart_abandonment_rate", 0}, {"checkout_abandonment_rate", 0}}, toNext(0, 0, 0)...)},
		{kpis: append(KPIs{{"retention_rate", 0}, {"repeat_purchase_rate", 0}, {"csat", 0}, {"csat_responses", 0}}, toNext(0, 0, 0)...)},
		{kpis: KPIs{{"referrals", 0}, {"referral_rate", 0}, {"nps", 0}, {"nps_responses", 0}, {"social_shares", 0}}},
	}
}

func TestStages(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	const (
		minute              = time.Minute
		aw, evl, pu, re, ad = "awareness", "evaluation", "purchase", "return", "advocacy"
		order               = "Order Completed"
	)
	insertStageEvents(t, conn,
		// v1: two impressions and a click (delivered twice, below), a page view.
		stageEv{id: "1", visitor: "v1", name: "Ad Impression", stage: aw, at: t0, site: "shop"},
		stageEv{id: "2", visitor: "v1", name: "Ad Impression", stage: aw, at: t0.Add(minute), site: "shop"},
		stageEv{id: "3", visitor: "v1", name: "Ad Clicked", stage: aw, at: t0.Add(2 * minute), site: "shop"},
		stageEv{id: "4", visitor: "v1", typ: "page", stage: aw, at: t0.Add(3 * minute), site: "shop"},
		// v2: an 'Ad Viewed' is an impression; a promotion is not, nor is a
		// page called "Ad Impression".
		stageEv{id: "5", visitor: "v2", name: "Ad Viewed", stage: aw, at: t0, site: "shop"},
		stageEv{id: "6", visitor: "v2", name: "Promotion Viewed", stage: aw, at: t0, site: "shop"},
		stageEv{id: "7", visitor: "v2", typ: "page", name: "Ad Impression", stage: aw, at: t0, site: "shop"},
		// v3 evaluates and leaves a lead; v4 only evaluates.
		stageEv{id: "8", visitor: "v3", name: "Product Viewed", stage: evl, at: t0, site: "shop"},
		stageEv{id: "9", visitor: "v3", name: "Lead Submitted", stage: evl, at: t0.Add(minute), site: "shop"},
		stageEv{id: "10", visitor: "v4", name: "Product Viewed", stage: evl, at: t0, site: "shop"},
		// v5 signs up straight away: a lead, but not in evaluation.
		stageEv{id: "11", visitor: "v5", name: "Signed Up", stage: pu, at: t0, site: "shop"},
		// v6: two leads, one visitor.
		stageEv{id: "12", visitor: "v6", name: "Demo Requested", stage: evl, at: t0, site: "shop"},
		stageEv{id: "13", visitor: "v6", name: "Trial Started", stage: evl, at: t0.Add(minute), site: "shop"},
		// v7: cart k7 and its checkout convert (100), a repeat order (50),
		// CSAT 5, a referral, NPS 10 twice.
		stageEv{id: "14", visitor: "v7", name: "Product Added", stage: pu, cart: "k7", at: t0, site: "shop"},
		stageEv{id: "15", visitor: "v7", name: "Checkout Started", stage: pu, cart: "k7", at: t0.Add(10 * minute), site: "shop"},
		stageEv{id: "16", visitor: "v7", name: order, stage: pu, revenue: 100, at: t0.Add(20 * minute), site: "shop"},
		stageEv{id: "17", visitor: "v7", name: order, stage: re, revenue: 50, at: t0.Add(3 * day), site: "shop"},
		stageEv{id: "18", visitor: "v7", name: "CSAT Rated", stage: re, props: score(5), at: t0.Add(3 * day), site: "shop"},
		stageEv{id: "19", visitor: "v7", name: "Referral Sent", stage: ad, at: t0.Add(3 * day), site: "shop"},
		stageEv{id: "20", visitor: "v7", name: "NPS Rated", stage: ad, props: score(10), at: t0.Add(3 * day), site: "shop"},
		stageEv{id: "45", visitor: "v7", name: "NPS Submitted", stage: ad, props: score(10), at: t0.Add(4 * day), site: "shop"},
		// v8: cart k8 and its checkout ordered after 2 days: both abandoned.
		// CSAT "2" (a string), NPS 8, a share.
		stageEv{id: "21", visitor: "v8", name: "Product Added", stage: pu, cart: "k8", at: t0, site: "shop"},
		stageEv{id: "43", visitor: "v8", name: "Checkout Started", stage: pu, cart: "k8", at: t0.Add(5 * minute), site: "shop"},
		stageEv{id: "22", visitor: "v8", name: order, stage: pu, revenue: 30, at: t0.Add(2 * day), site: "shop"},
		stageEv{id: "23", visitor: "v8", name: "CSAT Submitted", stage: re, props: score("2"), at: t0.Add(2 * day), site: "shop"},
		stageEv{id: "24", visitor: "v8", name: "NPS Submitted", stage: re, props: score(8), at: t0.Add(2 * day), site: "shop"},
		stageEv{id: "25", visitor: "v8", name: "Product Shared", stage: ad, at: t0.Add(2 * day), site: "shop"},
		// v9: cart k9 ordered within the hour (20). A survey answer of 6
		// (detractor), one without a score; CSAT 4.5 and 0 do not count,
		// 4.0 does.
		stageEv{id: "42", visitor: "v9", name: "Product Added", stage: pu, cart: "k9", at: t0, site: "shop"},
		stageEv{id: "26", visitor: "v9", name: order, stage: pu, revenue: 20, at: t0.Add(time.Hour), site: "shop"},
		stageEv{id: "27", visitor: "v9", name: "Survey Answered", stage: re, props: score(6), at: t0.Add(2 * time.Hour), site: "shop"},
		stageEv{id: "28", visitor: "v9", name: "Survey Answered", stage: re, props: `{"answer":"yes"}`, at: t0.Add(2 * time.Hour), site: "shop"},
		stageEv{id: "29", visitor: "v9", name: "CSAT Rated", stage: re, props: score(4.5), at: t0.Add(2 * time.Hour), site: "shop"},
		stageEv{id: "30", visitor: "v9", name: "CSAT Rated", stage: re, props: score(0), at: t0.Add(2 * time.Hour), site: "shop"},
		stageEv{id: "31", visitor: "v9", name: "CSAT Rated", stage: re, props: `{"score":4.0}`, at: t0.Add(2 * time.Hour), site: "shop"},
		// v10 is no customer: a referral, shares, NPS 9 (promoter), 11 (not
		// an answer), 7 (passive) and 0 (detractor).
		stageEv{id: "32", visitor: "v10", name: "Referral Sent", stage: ad, at: t0, site: "shop"},
		stageEv{id: "33", visitor: "v10", name: "Social Share", stage: ad, at: t0, site: "shop"},
		stageEv{id: "34", visitor: "v10", name: "Content Shared", stage: ad, at: t0, site: "shop"},
		stageEv{id: "35", visitor: "v10", name: "NPS Rated", stage: ad, props: score(9), at: t0, site: "shop"},
		stageEv{id: "36", visitor: "v10", name: "NPS Rated", props: score(11), at: t0, site: "shop"},
		stageEv{id: "37", visitor: "v10", name: "NPS Rated", props: score(7), at: t0, site: "shop"},
		stageEv{id: "44", visitor: "v10", name: "NPS Rated", props: score(0), at: t0, site: "shop"},
		// v11: no stage, but a visitor.
		stageEv{id: "38", visitor: "v11", typ: "identify", at: t0, site: "shop"},
		// v12: before --from and at --to: out of the range.
		stageEv{id: "39", visitor: "v12", name: "Ad Impression", stage: aw, at: from.Add(-time.Hour), site: "shop"},
		stageEv{id: "40", visitor: "v12", name: order, stage: pu, revenue: 1000, at: to, site: "shop"},
		// v13 comes in through another site.
		stageEv{id: "41", visitor: "v13", name: "Ad Impression", stage: aw, session: "s13", at: t0, site: "blog"},
	)
	// v1's click, redelivered: counts once.
	insertStageEvents(t, conn, stageEv{id: "3", visitor: "v1", name: "Ad Clicked", stage: aw, at: t0.Add(2 * minute), site: "shop",
		insertedAt: time.Now().Add(time.Minute)})
	insertSessions(t, conn,
		// v1 on two days: 0 s (a bounce) and 60 s.
		sess{id: "s1", visitor: "v1", start: t0, pageViews: 1, version: 1},
		sess{id: "s1b", visitor: "v1", start: t0.Add(2 * day), duration: time.Minute, pageViews: 1, version: 1},
		// v3 twice on one day: 20 s, and a bounce.
		sess{id: "s3", visitor: "v3", start: t0, duration: 20 * time.Second, pageViews: 1, version: 1},
		sess{id: "s3b", visitor: "v3", start: t0.Add(5 * time.Hour), pageViews: 1, version: 1},
		// v7 on two days: 120 s and 30 s.
		sess{id: "s7", visitor: "v7", start: t0, duration: 2 * time.Minute, pageViews: 3, conversions: 1, version: 1},
		sess{id: "s7b", visitor: "v7", start: t0.Add(3 * day), duration: 30 * time.Second, pageViews: 2, version: 1},
		// v8: a 5 s bounce; v13: a bounce.
		sess{id: "s8", visitor: "v8", start: t0, duration: 5 * time.Second, pageViews: 1, version: 1},
		sess{id: "s13", visitor: "v13", start: t0, pageViews: 1, version: 1},
		// v4's session is a tombstone; v9's started before --from.
		sess{id: "s4", visitor: "v4", start: t0, duration: time.Hour, pageViews: 5, version: 1},
		sess{id: "s9", visitor: "v9", start: from.Add(-time.Hour), duration: time.Hour, pageViews: 5, version: 1},
	)
	insertSessions(t, conn, sess{id: "s4", visitor: "v4", start: t0, duration: time.Hour, pageViews: 5, version: 2, deleted: true})

	got, err := Stages(t.Context(), conn, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	// Visitors in the range: v1..v11, v13 = 12.
	//
	// awareness: v1 (4 events), v2 (3), v13 (1). Sessions s1 s1b s3 s3b s7
	// s7b s8 s13 = 8. Impressions 1 2 5 41 = 4, clicks 3 = 1: CTR 1/4.
	//
	// evaluation: v3 (2), v4 (1), v6 (2). Engaged s1b s3 s7 s7b of 8;
	// durations 0+60+20+0+120+30+5+0 = 235, mean 29.375. Leads 9 11 12 13
	// = 4; of the 3 evaluating visitors v3 and v6 have one: 2/3.
	//
	// purchase: v5 (1), v7 (3), v8 (3), v9 (2). Orders 16 17 22 26 = 4,
	// revenue 200: AOV 50. Customers v7 v8 v9: conversion 3/12. Carts k7
	// k8 k9, k8 abandoned: 1/3; checkouts k7 k8, k8 abandoned: 1/2.
	//
	// return: v7 (2), v8 (2), v9 (5). Visitors with sessions v1 v3 v7 v8
	// v13, on two days v1 v7: 2/5. Customers with 2 orders: v7, 1/3.
	// CSAT answers 5, "2", 4.0: 2 of 3 satisfied = 66.67.
	//
	// advocacy: v7 (3), v8 (1), v10 (4). Referrals 19 32 = 2; of the 3
	// customers v7 referred: 1/3. NPS answers 10 10 9 (promoters), 8 7
	// (passives), 6 0 (detractors) = 7: 100 (3 - 2) / 7. Shares 25 33 34 = 3.
	//
	// To the next stage: no awareness visitor (v1 v2 v13) evaluates, no
	// evaluating one (v3 v4 v6) buys. Of the buyers v5 v7 v8 v9 (first
	// purchase event at t0), v7 returns 3 days later, v8 2 days, v9 2
	// hours: 3/4, median of 7200, 172800, 259200 s = 172800. Of those
	// three, v7 and v8 advocate at the time of their first return event
	// (0 s), v9 never: 2/3, median 0.
	checkStages(t, got, []wantStage{
		{3, 8, append(KPIs{{"sessions", 8}, {"ad_impressions", 4}, {"ad_clicks", 1}, {"ctr", 0.25}}, toNext(0, 0, 0)...)},
		{3, 5, append(KPIs{{"engagement_rate", 0.5}, {"mean_time_on_site_seconds", 29.375}, {"leads", 4}, {"lead_conversion_rate", 2.0 / 3}}, toNext(0, 0, 0)...)},
		{4, 9, append(KPIs{{"orders", 4}, {"conversion_rate", 0.25}, {"aov", 50}, {"cart_abandonment_rate", 1.0 / 3}, {"checkout_abandonment_rate", 0.5}}, toNext(3, 0.75, 172800)...)},
		{3, 9, append(KPIs{{"retention_rate", 0.4}, {"repeat_purchase_rate", 1.0 / 3}, {"csat", 200.0 / 3}, {"csat_responses", 3}}, toNext(2, 2.0/3, 0)...)},
		{3, 8, KPIs{{"referrals", 2}, {"referral_rate", 1.0 / 3}, {"nps", 100.0 / 7}, {"nps_responses", 7}, {"social_shares", 3}}},
	})

	// The same numbers as the abandonment and time-on-site reports.
	ab, err := Abandonment(t.Context(), conn, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := TimeOnSite(t.Context(), conn, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stage int
		kpi   string
		want  float64
	}{
		{0, "sessions", float64(ts.Sessions)},
		{1, "engagement_rate", ts.EngagementRate},
		{1, "mean_time_on_site_seconds", ts.DurationSeconds.Mean},
		{2, "cart_abandonment_rate", ab.Cart.AbandonmentRate},
		{2, "checkout_abandonment_rate", ab.Checkout.AbandonmentRate},
	} {
		if v, ok := got.Stages[c.stage].KPIs.Get(c.kpi); !ok || v != c.want {
			t.Errorf("%s = %v, %v; the report of its own says %v", c.kpi, v, ok, c.want)
		}
	}

	t.Run("within", func(t *testing.T) {
		// Within 3 days, v8's order (2 days) converts cart and checkout k8.
		got, err := Stages(t.Context(), conn, Options{From: from, To: to, Within: 3 * day})
		if err != nil {
			t.Fatal(err)
		}
		for _, kpi := range []string{"cart_abandonment_rate", "checkout_abandonment_rate"} {
			if v, _ := got.Stages[2].KPIs.Get(kpi); v != 0 {
				t.Errorf("%s = %v, want 0", kpi, v)
			}
		}
	})

	t.Run("site", func(t *testing.T) {
		// Only v13: an impression and a bounced session. Every other
		// denominator is 0, except visitors (1) and sessions (1).
		got, err := Stages(t.Context(), conn, Options{From: from, To: to, Site: "blog"})
		if err != nil {
			t.Fatal(err)
		}
		want := zeroStages()
		want[0] = wantStage{1, 1, append(KPIs{{"sessions", 1}, {"ad_impressions", 1}, {"ad_clicks", 0}, {"ctr", 0}}, toNext(0, 0, 0)...)}
		checkStages(t, got, want)
	})

	t.Run("empty range", func(t *testing.T) {
		got, err := Stages(t.Context(), conn, Options{From: date(2027, 1, 1), To: date(2027, 2, 1)})
		if err != nil {
			t.Fatal(err)
		}
		checkStages(t, got, zeroStages())
		// Every stage is there, with every KPI, in the JSON too.
		var b bytes.Buffer
		if err := Write(&b, got, FormatJSON); err != nil {
			t.Fatal(err)
		}
		next := `"visitors_to_next":0,"conversion_to_next":0,"median_seconds_to_next":0}},`
		want := `{"stages":[` +
			`{"stage":"awareness","visitors":0,"events":0,"kpis":{"sessions":0,"ad_impressions":0,"ad_clicks":0,"ctr":0,` + next +
			`{"stage":"evaluation","visitors":0,"events":0,"kpis":{"engagement_rate":0,"mean_time_on_site_seconds":0,"leads":0,"lead_conversion_rate":0,` + next +
			`{"stage":"purchase","visitors":0,"events":0,"kpis":{"orders":0,"conversion_rate":0,"aov":0,"cart_abandonment_rate":0,"checkout_abandonment_rate":0,` + next +
			`{"stage":"return","visitors":0,"events":0,"kpis":{"retention_rate":0,"repeat_purchase_rate":0,"csat":0,"csat_responses":0,` + next +
			`{"stage":"advocacy","visitors":0,"events":0,"kpis":{"referrals":0,"referral_rate":0,"nps":0,"nps_responses":0,"social_shares":0}}]}` + "\n"
		if b.String() != want {
			t.Errorf("json:\n got %s\nwant %s", b.String(), want)
		}
	})

	t.Run("run", func(t *testing.T) {
		r, err := Run(t.Context(), conn, KindStages, Options{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.(*StagesReport); !ok || r.Kind() != KindStages {
			t.Errorf("Run(%q) = %T %q", KindStages, r, r.Kind())
		}
	})
}

// TestStagesNPS checks the NPS and CSAT scales at their edges.
func TestStagesNPS(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var rows []stageEv
	add := func(name string, props string) {
		rows = append(rows, stageEv{id: fmt.Sprint(len(rows)), visitor: "v", name: name, props: props, at: t0})
	}
	// NPS: promoters 9, 10, "10"; passives 7, 8; detractors 0, 5, 6, "6";
	// not answers -1, 10.5, 11, "x", null, none, and a score on a page.
	for _, s := range []any{9, 10, "10", 7, 8, 0, 5, 6, "6", -1, 10.5, 11, "x", nil} {
		add("Survey Answered", score(s))
	}
	add("NPS Rated", `{}`)
	rows = append(rows, stageEv{id: "page", visitor: "v", typ: "page", name: "NPS Rated", props: score(10), at: t0})
	// CSAT: 5 and 4 satisfied, 1 2 3 not; 0 and 6 are not answers.
	for _, s := range []any{5, 4, 1, 2, 3, 0, 6} {
		add("CSAT Submitted", score(s))
	}
	insertStageEvents(t, conn, rows...)

	got, err := Stages(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 15)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stage int
		kpi   string
		want  float64
	}{
		// 9 answers: 3 promoters, 4 detractors.
		{4, "nps", 100.0 * (3 - 4) / 9},
		{4, "nps_responses", 9},
		// 5 answers, 2 satisfied.
		{3, "csat", 40},
		{3, "csat_responses", 5},
	} {
		if v, ok := got.Stages[c.stage].KPIs.Get(c.kpi); !ok || !near(v, c.want) {
			t.Errorf("%s = %v, %v, want %v", c.kpi, v, ok, c.want)
		}
	}
}

var sampleStages = &StagesReport{Stages: []Stage{
	{Stage: "awareness", Visitors: 120, Events: 300, KPIs: KPIs{{"sessions", 200}, {"ad_impressions", 1000}, {"ad_clicks", 25}, {"ctr", 0.025}}},
	{Stage: "evaluation", Visitors: 80, Events: 260, KPIs: KPIs{{"engagement_rate", 0.625}, {"mean_time_on_site_seconds", 185.25}, {"leads", 12}, {"lead_conversion_rate", 0.125}}},
	{Stage: "purchase", Visitors: 30, Events: 90, KPIs: KPIs{{"orders", 20}, {"conversion_rate", 0.15}, {"aov", 42.5}, {"cart_abandonment_rate", 0.75}, {"checkout_abandonment_rate", 0.5}}},
	{Stage: "return", Visitors: 12, Events: 40, KPIs: KPIs{{"retention_rate", 0.2}, {"repeat_purchase_rate", 0.25}, {"csat", 80}, {"csat_responses", 10}}},
	{Stage: "advocacy", Visitors: 5, Events: 9, KPIs: KPIs{{"referrals", 3}, {"referral_rate", 0.1}, {"nps", -12.5}, {"nps_responses", 8}, {"social_shares", 4}}},
}}

// TestStagesJSON checks the JSON of DESIGN.md section 3.
func TestStagesJSON(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sampleStages, FormatJSON); err != nil {
		t.Fatal(err)
	}
	want := `{"stages":[` +
		`{"stage":"awareness","visitors":120,"events":300,"kpis":{"sessions":200,"ad_impressions":1000,"ad_clicks":25,"ctr":0.025}},` +
		`{"stage":"evaluation","visitors":80,"events":260,"kpis":{"engagement_rate":0.625,"mean_time_on_site_seconds":185.25,"leads":12,"lead_conversion_rate":0.125}},` +
		`{"stage":"purchase","visitors":30,"events":90,"kpis":{"orders":20,"conversion_rate":0.15,"aov":42.5,"cart_abandonment_rate":0.75,"checkout_abandonment_rate":0.5}},` +
		`{"stage":"return","visitors":12,"events":40,"kpis":{"retention_rate":0.2,"repeat_purchase_rate":0.25,"csat":80,"csat_responses":10}},` +
		`{"stage":"advocacy","visitors":5,"events":9,"kpis":{"referrals":3,"referral_rate":0.1,"nps":-12.5,"nps_responses":8,"social_shares":4}}]}` + "\n"
	if b.String() != want {
		t.Errorf("json:\n got %s\nwant %s", b.String(), want)
	}
	// The shape a client decodes.
	var decoded struct {
		Stages []struct {
			Stage    string             `json:"stage"`
			Visitors uint64             `json:"visitors"`
			Events   uint64             `json:"events"`
			KPIs     map[string]float64 `json:"kpis"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Stages) != 5 || decoded.Stages[0].KPIs["ctr"] != 0.025 || decoded.Stages[4].KPIs["nps"] != -12.5 {
		t.Errorf("decoded %+v", decoded)
	}

	// No KPIs is an empty object, not null; NaN is an error.
	if b, err := json.Marshal(KPIs(nil)); err != nil || string(b) != "{}" {
		t.Errorf("empty KPIs = %s, %v", b, err)
	}
	if _, err := json.Marshal(KPIs{{"x", math.NaN()}}); err == nil {
		t.Error("NaN KPI: no error")
	}
}

func TestStagesTable(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sampleStages, FormatTable); err != nil {
		t.Fatal(err)
	}
	want := `
STAGE       VISITORS  EVENTS  KPI                   VALUE
awareness   120       300     sessions              200
                              ad impressions        1000
                              ad clicks             25
                              CTR                   2.5%
evaluation  80        260     engagement rate       62.5%
                              time on site (mean)   3m5s
                              leads                 12
                              lead conversion rate  12.5%
purchase    30        90      orders                20
                              conversion rate       15.0%
                              AOV                   42.50
                              cart abandonment      75.0%
                              checkout abandonment  50.0%
return      12        40      retention rate        20.0%
                              repeat purchase rate  25.0%
                              CSAT                  80.0
                              CSAT responses        10
advocacy    5         9       referrals             3
                              referral rate         10.0%
                              NPS                   -12.5
                              NPS responses         8
                              social shares         4
`
	if got := b.String(); got != strings.TrimPrefix(want, "\n") {
		t.Errorf("table:\n%s\nwant:\n%s", got, strings.TrimPrefix(want, "\n"))
	}
}

func TestStagesCSV(t *testing.T) {
	r := &StagesReport{Stages: sampleStages.Stages[:2]}
	var b bytes.Buffer
	if err := Write(&b, r, FormatCSV); err != nil {
		t.Fatal(err)
	}
	want := `stage,visitors,events,kpi,value
awareness,120,300,sessions,200
awareness,120,300,ad_impressions,1000
awareness,120,300,ad_clicks,25
awareness,120,300,ctr,0.025
evaluation,80,260,engagement_rate,0.625
evaluation,80,260,mean_time_on_site_seconds,185.25
evaluation,80,260,leads,12
evaluation,80,260,lead_conversion_rate,0.125
`
	if got := b.String(); got != want {
		t.Errorf("csv:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	if err := Write(&b, sampleStages, FormatHTML); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<th>KPI</th>", "<td>lead conversion rate</td>", "<td>-12.5</td>"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("html lacks %q", s)
		}
	}
}

// TestStagesRetentionSessions: retention_rate counts the visitors of
// time_on_site.sql's sessions (its CTE `scoped`): started in the range,
// not tombstoned, with an event of the site when there is one; and the
// awareness KPI sessions is time-on-site's session count.
//
//	r1: sessions on Nov 2 and Nov 3, events of site a in both: returning
//	r2: Nov 2, and Nov 4 tombstoned: not returning
//	r3: Nov 2 (site a) and Nov 5 (site b): returning on all sites, not on a
//	r4: Nov 2, and Oct 30 before the range: not returning
func TestStagesRetentionSessions(t *testing.T) {
	conn := migratedConn(t)
	day := func(d int) time.Time { return date(2026, 11, d).Add(10 * time.Hour) }
	insertSessions(t, conn,
		sess{id: "r1a", visitor: "r1", start: day(2), version: 1},
		sess{id: "r1b", visitor: "r1", start: day(3), version: 1},
		sess{id: "r2a", visitor: "r2", start: day(2), version: 1},
		sess{id: "r2b", visitor: "r2", start: day(4), version: 1},
		sess{id: "r3a", visitor: "r3", start: day(2), version: 1},
		sess{id: "r3b", visitor: "r3", start: day(5), version: 1},
		sess{id: "r4a", visitor: "r4", start: day(2), version: 1},
		sess{id: "r4b", visitor: "r4", start: date(2026, 10, 30), version: 1},
	)
	insertSessions(t, conn, sess{id: "r2b", visitor: "r2", start: day(4), version: 2, deleted: true})
	insertEvents(t, conn,
		ev{id: "1", visitor: "r1", name: "Page Viewed", session: "r1a", site: "a", at: day(2)},
		ev{id: "2", visitor: "r1", name: "Page Viewed", session: "r1b", site: "a", at: day(3)},
		ev{id: "3", visitor: "r2", name: "Page Viewed", session: "r2a", site: "a", at: day(2)},
		ev{id: "4", visitor: "r2", name: "Page Viewed", session: "r2b", site: "a", at: day(4)},
		ev{id: "5", visitor: "r3", name: "Page Viewed", session: "r3a", site: "a", at: day(2)},
		ev{id: "6", visitor: "r3", name: "Page Viewed", session: "r3b", site: "b", at: day(5)},
		ev{id: "7", visitor: "r4", name: "Page Viewed", session: "r4a", site: "a", at: day(2)},
		ev{id: "8", visitor: "r4", name: "Page Viewed", session: "r4b", site: "a", at: date(2026, 10, 30)},
	)
	kpi := func(r *StagesReport, stage, name string) float64 {
		for _, s := range r.Stages {
			for _, k := range s.KPIs {
				if s.Stage == stage && k.Name == name {
					return k.Value
				}
			}
		}
		t.Fatalf("no KPI %s of %s", name, stage)
		return 0
	}
	for _, tc := range []struct {
		site      string
		sessions  float64 // r1 2, r2 1, r3 2 (1 on site a), r4 1
		retention float64 // returning / visitors with a session
	}{{"", 6, 2.0 / 4}, {"a", 5, 1.0 / 4}, {"b", 1, 0}} {
		opts := Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Site: tc.site}
		got, err := Stages(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		tos, err := TimeOnSite(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s := kpi(got, "awareness", "sessions"); s != tc.sessions || float64(tos.Sessions) != tc.sessions {
			t.Errorf("site %q: stages sessions %v, time on site %d; want %v", tc.site, s, tos.Sessions, tc.sessions)
		}
		if r := kpi(got, "return", "retention_rate"); !near(r, tc.retention) {
			t.Errorf("site %q: retention_rate %v, want %v", tc.site, r, tc.retention)
		}
	}
}

// TestStagesToNext: from each stage to the next, by the first event of
// each: w1 goes through all five; w2 evaluates 30 minutes after its
// awareness and stops; w3 evaluated before its awareness, so does not
// count as going on; w4 is only aware; w5 bought before it evaluated.
func TestStagesToNext(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	const aw, evl, pu, re, ad = "awareness", "evaluation", "purchase", "return", "advocacy"
	insertStageEvents(t, conn,
		stageEv{id: "1", visitor: "w1", name: "Ad Clicked", stage: aw, at: t0},
		stageEv{id: "2", visitor: "w1", name: "Product Viewed", stage: evl, at: t0.Add(10 * m)},
		stageEv{id: "3", visitor: "w1", name: "Product Viewed", stage: evl, at: t0.Add(20 * m)},
		stageEv{id: "4", visitor: "w1", name: "Order Completed", stage: pu, at: t0.Add(time.Hour), revenue: 10},
		stageEv{id: "5", visitor: "w1", name: "Order Completed", stage: re, at: t0.Add(day), revenue: 10},
		stageEv{id: "6", visitor: "w1", name: "Referral Sent", stage: ad, at: t0.Add(2 * day)},
		stageEv{id: "7", visitor: "w2", name: "Ad Clicked", stage: aw, at: t0},
		stageEv{id: "8", visitor: "w2", name: "Product Viewed", stage: evl, at: t0.Add(30 * m)},
		stageEv{id: "9", visitor: "w3", name: "Product Viewed", stage: evl, at: t0},
		stageEv{id: "10", visitor: "w3", name: "Ad Clicked", stage: aw, at: t0.Add(5 * m)},
		stageEv{id: "11", visitor: "w4", name: "Ad Clicked", stage: aw, at: t0},
		stageEv{id: "12", visitor: "w5", name: "Order Completed", stage: pu, at: t0.Add(2 * time.Hour), revenue: 10},
		stageEv{id: "13", visitor: "w5", name: "Product Viewed", stage: evl, at: t0.Add(3 * time.Hour)},
	)
	got, err := Stages(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 15)})
	if err != nil {
		t.Fatal(err)
	}
	// awareness w1 w2 w3 w4: w1 (600 s) and w2 (1800 s) go on, 2/4, the
	// median of two is the upper, 1800. evaluation w1 w2 w3 w5: w1 (first
	// evaluation at 10 min, purchase at 60: 3000 s), 1/4. purchase w1 w5:
	// w1 returns after 23 h (82800 s), 1/2. return w1: advocacy a day
	// later, 1/1.
	want := []KPIs{toNext(2, 0.5, 1800), toNext(1, 0.25, 3000), toNext(1, 0.5, 82800), toNext(1, 1, 86400)}
	for i, w := range want {
		for _, k := range w {
			if v, ok := got.Stages[i].KPIs.Get(k.Name); !ok || !near(v, k.Value) {
				t.Errorf("%s %s = %v, %v; want %v", got.Stages[i].Stage, k.Name, v, ok, k.Value)
			}
		}
	}
	if _, ok := got.Stages[4].KPIs.Get("conversion_to_next"); ok {
		t.Error("advocacy has a next stage")
	}
}

// TestStagesView: the view report_stages (Views, created by migrate)
// returns what Stages computes, stage by stage and KPI by KPI: w1 goes
// from awareness to a purchase, w2 stays aware.
func TestStagesView(t *testing.T) {
	views, err := Views()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(views, func(v clickhouse.View) bool { return v.Name == "report_stages" }) {
		t.Fatal("Views has no report_stages")
	}
	conn := migratedConnWith(t, clickhouse.MigrateConfig{Views: views})
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	insertStageEvents(t, conn,
		stageEv{id: "1", visitor: "w1", name: "Ad Clicked", stage: "awareness", at: t0},
		stageEv{id: "2", visitor: "w1", name: "Product Viewed", stage: "evaluation", at: t0.Add(time.Minute)},
		stageEv{id: "3", visitor: "w1", name: "Product Added", stage: "purchase", cart: "k", at: t0.Add(2 * time.Minute)},
		stageEv{id: "4", visitor: "w1", name: "Order Completed", stage: "purchase", at: t0.Add(3 * time.Minute), revenue: 10},
		stageEv{id: "5", visitor: "w2", name: "Ad Clicked", stage: "awareness", at: t0},
	)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15)}
	want, err := Stages(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readStages(t.Context(), conn, `SELECT stage, visitors, events, kpis FROM report_stages(
		from = '2026-11-01 00:00:00.000', to = '2026-11-15 00:00:00.000', site = '', within_seconds = 86400)`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want.Stages) {
		t.Errorf("report_stages =\n%v\nStages =\n%v", got, want.Stages)
	}
	if v, _ := want.Stages[0].KPIs.Get("conversion_to_next"); v != 0.5 {
		t.Errorf("awareness conversion_to_next = %v, want 0.5 (w1 of w1, w2)", v)
	}
}
