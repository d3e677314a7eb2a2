package report

import (
	"testing"
	"time"
)

// TestStagesFilter: with --channel Email the visitor KPIs count a and c,
// whose first event came through Email, with all their events and orders
// (a's cart and order came through Direct); b's first event is Direct, its
// later Email view does not bring it in. Sessions, engagement and time on
// site are time-on-site's filtered sessions, cart abandonment the
// abandonment report's filtered carts, and retention_rate counts a's
// return through Direct.
func TestStagesFilter(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	exec(t, conn, `INSERT INTO events (message_id, event_time, type, event_name, visitor_id, stage, revenue, traffic_channel, session_id, cart_id) VALUES `+
		`('a1', `+sqlTime(t0)+`, 'page', 'Page Viewed', 'a', 'awareness', 0, 'Email', 'sa', ''), `+
		`('a2', `+sqlTime(t0.Add(m))+`, 'track', 'Product Added', 'a', 'purchase', 0, 'Direct', 'sa', 'c1'), `+
		`('a3', `+sqlTime(t0.Add(2*m))+`, 'track', 'Order Completed', 'a', 'purchase', 100, 'Direct', 'sa', ''), `+
		`('b1', `+sqlTime(t0)+`, 'page', 'Page Viewed', 'b', 'awareness', 0, 'Direct', 'sb', ''), `+
		`('b2', `+sqlTime(t0.Add(m))+`, 'page', 'Page Viewed', 'b', 'awareness', 0, 'Email', 'sb', ''), `+
		`('b3', `+sqlTime(t0.Add(2*m))+`, 'track', 'Product Added', 'b', 'purchase', 0, 'Email', 'sb', 'c2'), `+
		`('b4', `+sqlTime(t0.Add(3*m))+`, 'track', 'Order Completed', 'b', 'purchase', 50, 'Email', 'sb', ''), `+
		`('c1', `+sqlTime(t0.Add(time.Hour))+`, 'page', 'Page Viewed', 'c', 'awareness', 0, 'Email', 'sc', ''), `+
		`('c2', `+sqlTime(t0.Add(time.Hour+m))+`, 'track', 'Lead Submitted', 'c', 'evaluation', 0, 'Email', 'sc', '')`)
	// a returns the next day through Direct (sa2); c's session lasts 5 s.
	exec(t, conn, `INSERT INTO sessions (session_id, visitor_id, start_time, end_time, page_views, conversions, traffic_channel, version, is_deleted) VALUES `+
		`('sa', 'a', `+sqlTime(t0)+`, `+sqlTime(t0.Add(2*m))+`, 1, 1, 'Email', 1, 0), `+
		`('sa2', 'a', `+sqlTime(t0.Add(24*time.Hour))+`, `+sqlTime(t0.Add(24*time.Hour+m))+`, 1, 0, 'Direct', 1, 0), `+
		`('sb', 'b', `+sqlTime(t0)+`, `+sqlTime(t0.Add(3*m))+`, 2, 1, 'Direct', 1, 0), `+
		`('sc', 'c', `+sqlTime(t0.Add(time.Hour))+`, `+sqlTime(t0.Add(time.Hour+5*time.Second))+`, 1, 0, 'Email', 1, 0)`)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Filter: Filter{Channels: []string{"Email"}}}
	got, err := Stages(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	// a's cart c1 started through Direct in session sa, an Email session:
	// the abandonment report's channel is the session's, so it is kept, and
	// a's order converts it (rate 0); b's cart c2 (session sb, Direct) is
	// not kept.
	checkStages(t, got, []wantStage{
		// c evaluates 60 s after its first awareness event; a buys but
		// never evaluates.
		{2, 2, append(KPIs{{"sessions", 2}, {"ad_impressions", 0}, {"ad_clicks", 0}, {"ctr", 0}}, toNext(1, 0.5, 60)...)},
		{1, 1, append(KPIs{{"engagement_rate", 0.5}, {"mean_time_on_site_seconds", 62.5}, {"leads", 1}, {"lead_conversion_rate", 1}}, toNext(0, 0, 0)...)},
		{1, 2, append(KPIs{{"orders", 1}, {"conversion_rate", 0.5}, {"aov", 100}, {"cart_abandonment_rate", 0}, {"checkout_abandonment_rate", 0}}, toNext(0, 0, 0)...)},
		{0, 0, append(KPIs{{"retention_rate", 0.5}, {"repeat_purchase_rate", 0}, {"csat", 0}, {"csat_responses", 0}}, toNext(0, 0, 0)...)},
		{0, 0, KPIs{{"referrals", 0}, {"referral_rate", 0}, {"nps", 0}, {"nps_responses", 0}, {"social_shares", 0}}},
	})

	// The same numbers as the reports that define them, filtered alike.
	tos, err := TimeOnSite(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := Abandonment(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	if tos.Sessions != 2 || ab.Cart.Carts != 1 || ab.Cart.AbandonmentRate != 0 {
		t.Errorf("time on site %d sessions, abandonment %+v: want 2 sessions, 1 cart not abandoned", tos.Sessions, ab.Cart)
	}

	// Unfiltered, b counts: 3 visitors aware, 2 orders.
	opts.Filter = Filter{}
	if got, err = Stages(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	if got.Stages[0].Visitors != 3 || got.Stages[0].Events != 4 || got.Stages[2].KPIs[0] != (KPI{"orders", 2}) {
		t.Errorf("unfiltered stages %+v", got.Stages)
	}
}
