package report

import (
	"fmt"
	"testing"
	"time"
)

// tosNumbers are the numbers of a time-on-site answer, of the whole report
// or of one breakdown row.
type tosNumbers struct {
	Sessions         uint64
	Duration, Engage Distribution
	Bounce, Engaged  float64
}

func (r *TimeOnSiteReport) numbers() tosNumbers {
	return tosNumbers{r.Sessions, r.DurationSeconds, r.EngagedSeconds, r.BounceRate, r.EngagementRate}
}

func (g TimeOnSiteGroup) numbers() tosNumbers {
	return tosNumbers{g.Sessions, g.DurationSeconds, g.EngagedSeconds, g.BounceRate, g.EngagementRate}
}

func (a tosNumbers) near(b tosNumbers) bool {
	ok := a.Sessions == b.Sessions && near(a.Bounce, b.Bounce) && near(a.Engaged, b.Engaged)
	for _, p := range [][2]Distribution{{a.Duration, b.Duration}, {a.Engage, b.Engage}} {
		ok = ok && near(p[0].Mean, p[1].Mean) && near(p[0].Median, p[1].Median) && near(p[0].P90, p[1].P90)
	}
	return ok
}

// breakdownRow is the row dimension=value of r's breakdowns.
func (r *TimeOnSiteReport) breakdownRow(dimension, value string) (TimeOnSiteGroup, bool) {
	for _, g := range r.Breakdowns {
		if g.Dimension == dimension && g.Value == value {
			return g, true
		}
	}
	return TimeOnSiteGroup{}, false
}

// TestTimeOnSiteFilter checks the report filter of time on site: a session
// passes when its first event does (the session's channel and touchpoint,
// its first event's properties), so `--channel X` is the X row of the
// channel breakdown, and the session's later events (an order from another
// channel) neither admit nor drop it.
func TestTimeOnSiteFilter(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	sec := time.Second
	insertSessions(t, conn,
		sess{id: "s1", visitor: "a", start: t0, duration: 30 * sec, pageViews: 1, engagedMS: 20000, channel: "Email", touchpoint: "email", version: 1},
		// Bounces: 5 s, one page.
		sess{id: "s2", visitor: "b", start: t0, duration: 5 * sec, pageViews: 1, engagedMS: 3000, channel: "Email", touchpoint: "web", version: 1},
		sess{id: "s3", visitor: "c", start: t0, duration: 120 * sec, pageViews: 3, engagedMS: 90000, channel: "Organic Search", touchpoint: "web", version: 1},
		// Engaged only by its order, which came in from Paid Search.
		sess{id: "s4", visitor: "d", start: t0, duration: 4 * sec, pageViews: 1, engagedMS: 1000, conversions: 1, channel: "Email", touchpoint: "email", version: 1},
		sess{id: "s5", visitor: "e", start: t0, duration: 600 * sec, pageViews: 5, engagedMS: 500000, touchpoint: "app", version: 1},
		sess{id: "s7", visitor: "f", start: t0, duration: 20 * sec, pageViews: 2, engagedMS: 10000, channel: "Organic Search", touchpoint: "web", version: 1},
		// Out of the range.
		sess{id: "s6", visitor: "g", start: date(2026, 10, 31), duration: 60 * sec, pageViews: 2, engagedMS: 50000, channel: "Email", touchpoint: "email", version: 1},
	)
	insertFull(t, conn,
		fev{id: "a-1", visitor: "a", session: "s1", name: "Page", at: t0, channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`},
		fev{id: "a-2", visitor: "a", session: "s1", name: "Page", at: t0.Add(30 * sec), channel: "Email", touchpoint: "email", props: `{"plan":"free"}`},
		// s2's first event is free; a later one is pro, which decides nothing.
		fev{id: "b-1", visitor: "b", session: "s2", name: "Page", at: t0, channel: "Email", touchpoint: "web", props: `{"plan":"free"}`},
		fev{id: "b-2", visitor: "b", session: "s2", name: "Page", at: t0.Add(5 * sec), channel: "Email", touchpoint: "web", props: `{"plan":"pro","n":10}`},
		fev{id: "c-1", visitor: "c", session: "s3", name: "Page", at: t0, channel: "Organic Search", touchpoint: "web", props: `{"plan":"pro"}`},
		// s4 has no plan on its first event; its order, from Paid Search on
		// the web, has one.
		fev{id: "d-1", visitor: "d", session: "s4", name: "Page", at: t0, channel: "Email", touchpoint: "email"},
		fev{id: "d-2", visitor: "d", session: "s4", name: "Order Completed", at: t0.Add(4 * sec), channel: "Paid Search", touchpoint: "web", props: `{"plan":"pro"}`},
		fev{id: "e-1", visitor: "e", session: "s5", name: "Screen", at: t0, touchpoint: "app", props: `{"plan":"pro","n":10}`},
		// s7's two first events are at the same instant: f-a, by message id,
		// is the first.
		fev{id: "f-b", visitor: "f", session: "s7", name: "Page", at: t0, channel: "Organic Search", touchpoint: "web", props: `{"plan":"free"}`},
		fev{id: "f-a", visitor: "f", session: "s7", name: "Page", at: t0, channel: "Organic Search", touchpoint: "web", props: `{"plan":"pro"}`},
		fev{id: "g-1", visitor: "g", session: "s6", name: "Page", at: date(2026, 10, 31), channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`},
	)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	run := func(t *testing.T, f Filter) *TimeOnSiteReport {
		t.Helper()
		r, err := TimeOnSite(t.Context(), conn, Options{Detail: true, From: from, To: to, Filter: f})
		if err != nil {
			t.Fatalf("filter %+v: %v", f, err)
		}
		return r
	}
	all := run(t, Filter{})

	// quantileExact(q) of n sorted values is the one at floor(q*n).
	cases := []struct {
		name   string
		filter Filter
		want   tosNumbers
		// row is the breakdown row of the unfiltered report the filtered
		// one must equal ("" none).
		dimension, value string
		// channels are the filtered report's own channel breakdown.
		channels map[string]uint64
	}{
		{
			// Durations 30 5 120 4 600 20, engaged 20 3 90 1 500 10; all
			// but s2 engaged (s4 by its order).
			name: "none", filter: Filter{},
			want:     tosNumbers{6, Distribution{779.0 / 6, 30, 600}, Distribution{104, 20, 500}, 1.0 / 6, 5.0 / 6},
			channels: map[string]uint64{"Email": 3, "Organic Search": 2, "(none)": 1},
		},
		{
			// s1 s2 s4: 30 5 4, engaged 20 3 1; s4's order (Paid Search)
			// keeps it engaged.
			name: "channel Email", filter: Filter{Channels: []string{"Email"}},
			want:      tosNumbers{3, Distribution{13, 5, 30}, Distribution{8, 3, 20}, 1.0 / 3, 2.0 / 3},
			dimension: "channel", value: "Email",
			channels: map[string]uint64{"Email": 3},
		},
		{
			// Only s4's order is from Paid Search: no session.
			name: "channel Paid Search", filter: Filter{Channels: []string{"Paid Search"}},
			want:     tosNumbers{},
			channels: map[string]uint64{},
		},
		{
			name: "channels Email or Organic Search", filter: Filter{Channels: []string{"Organic Search", "Email"}},
			// s1 s2 s3 s4 s7: 30 5 120 4 20, engaged 20 3 90 1 10.
			want:     tosNumbers{5, Distribution{179.0 / 5, 20, 120}, Distribution{124.0 / 5, 10, 90}, 0.2, 0.8},
			channels: map[string]uint64{"Email": 3, "Organic Search": 2},
		},
		{
			// s2 s3 s7 (not s4, whose order was on the web): 5 120 20,
			// engaged 3 90 10; s2 bounces.
			name: "touchpoint web", filter: Filter{Touchpoints: []string{"web"}},
			want:      tosNumbers{3, Distribution{145.0 / 3, 20, 120}, Distribution{103.0 / 3, 10, 90}, 1.0 / 3, 2.0 / 3},
			dimension: "touchpoint", value: "web",
			channels: map[string]uint64{"Email": 1, "Organic Search": 2},
		},
		{
			// s1 s4: 30 4, engaged 20 1.
			name: "channel Email and touchpoint email", filter: Filter{Channels: []string{"Email"}, Touchpoints: []string{"email"}},
			want:     tosNumbers{2, Distribution{17, 30, 30}, Distribution{10.5, 20, 20}, 0, 1},
			channels: map[string]uint64{"Email": 2},
		},
		{
			// First events with plan pro: s1 s3 s5 s7 (f-a), not s2 or s4
			// (pro only on a later event): 30 120 600 20, engaged 20 90 500 10.
			name: "where plan=pro", filter: Filter{Where: []Property{{"plan", "pro"}}},
			want:     tosNumbers{4, Distribution{192.5, 120, 600}, Distribution{155, 90, 500}, 0, 1},
			channels: map[string]uint64{"Email": 1, "Organic Search": 2, "(none)": 1},
		},
		{
			// A number compared by its JSON text: s5 only (s2's n is on a
			// later event).
			name: "where n=10", filter: Filter{Where: []Property{{"n", "10"}}},
			want:     tosNumbers{1, Distribution{600, 600, 600}, Distribution{500, 500, 500}, 0, 1},
			channels: map[string]uint64{"(none)": 1},
		},
		{
			// A missing property is '': s4.
			name: "where plan empty", filter: Filter{Where: []Property{{"plan", ""}}},
			want:     tosNumbers{1, Distribution{4, 4, 4}, Distribution{1, 1, 1}, 0, 1},
			channels: map[string]uint64{"Email": 1},
		},
		{
			// All conditions hold: s1.
			name: "channel Email where plan=pro", filter: Filter{Channels: []string{"Email"}, Where: []Property{{"plan", "pro"}}},
			want:     tosNumbers{1, Distribution{30, 30, 30}, Distribution{20, 20, 20}, 0, 1},
			channels: map[string]uint64{"Email": 1},
		},
		{
			name: "where plan=pro and n=10", filter: Filter{Where: []Property{{"plan", "pro"}, {"n", "10"}}},
			want:     tosNumbers{1, Distribution{600, 600, 600}, Distribution{500, 500, 500}, 0, 1},
			channels: map[string]uint64{"(none)": 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := all
			if !c.filter.IsZero() {
				got = run(t, c.filter)
			}
			if !got.numbers().near(c.want) {
				t.Errorf("numbers = %+v\nwant %+v", got.numbers(), c.want)
			}
			if c.dimension != "" {
				row, ok := all.breakdownRow(c.dimension, c.value)
				if !ok || !got.numbers().near(row.numbers()) {
					t.Errorf("filtered %+v\nis not the %s row %s of the breakdown: %+v", got.numbers(), c.dimension, c.value, row)
				}
			}
			// The companions follow the filter: the channel breakdown has
			// the sessions that pass, each histogram column sums to them.
			channels := map[string]uint64{}
			for _, g := range got.Breakdowns {
				if g.Dimension == "channel" {
					channels[g.Value] = g.Sessions
				}
			}
			if fmt.Sprint(channels) != fmt.Sprint(c.channels) {
				t.Errorf("channel breakdown %v, want %v", channels, c.channels)
			}
			var byDuration, byEngaged uint64
			for _, b := range got.Histogram {
				byDuration += b.DurationSessions
				byEngaged += b.EngagedSessions
			}
			if len(got.Histogram) != 7 || byDuration != c.want.Sessions || byEngaged != c.want.Sessions {
				t.Errorf("histogram %+v, want 7 buckets summing to %d", got.Histogram, c.want.Sessions)
			}
		})
	}

	t.Run("histogram channel Email", func(t *testing.T) {
		// Durations 30 5 4, engaged 20 3 1.
		got := run(t, Filter{Channels: []string{"Email"}})
		want := []HistogramBucket{
			{Label: "0-10 s", LowerSeconds: 0, UpperSeconds: 10, DurationSessions: 2, EngagedSessions: 2},
			{Label: "10-30 s", LowerSeconds: 10, UpperSeconds: 30, EngagedSessions: 1},
			{Label: "30-60 s", LowerSeconds: 30, UpperSeconds: 60, DurationSessions: 1},
			{Label: "1-3 min", LowerSeconds: 60, UpperSeconds: 180},
			{Label: "3-10 min", LowerSeconds: 180, UpperSeconds: 600},
			{Label: "10-30 min", LowerSeconds: 600, UpperSeconds: 1800},
			{Label: "30+ min", LowerSeconds: 1800},
		}
		if fmt.Sprint(got.Histogram) != fmt.Sprint(want) {
			t.Errorf("histogram = %+v\nwant %+v", got.Histogram, want)
		}
	})

	t.Run("without detail", func(t *testing.T) {
		got, err := TimeOnSite(t.Context(), conn, Options{From: from, To: to, Filter: Filter{Channels: []string{"Email"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Sessions != 3 || got.Breakdowns != nil || got.Histogram != nil {
			t.Errorf("without detail: %+v", got)
		}
	})

	t.Run("view unchanged", func(t *testing.T) {
		// The parameterized view is the unfiltered text and is called
		// without the filter's parameters.
		var n uint64
		if err := conn.QueryRow(t.Context(),
			`SELECT sessions FROM report_time_on_site(from = '2026-11-01 00:00:00.000', to = '2026-11-15 00:00:00.000', site = '')`).Scan(&n); err != nil || n != 6 {
			t.Errorf("report_time_on_site: %d sessions, %v; want 6", n, err)
		}
	})
}
