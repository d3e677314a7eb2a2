package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFunnelModes(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := time.Second
	// One visitor per site, so that --site picks one visitor out.
	insertEvents(t, conn,
		// a: another event between View and Cart.
		ev{id: "1", visitor: "a", site: "a", name: "View", at: t0},
		ev{id: "2", visitor: "a", site: "a", name: "Page Viewed", at: t0.Add(10 * s)},
		ev{id: "3", visitor: "a", site: "a", name: "Cart", at: t0.Add(20 * s)},
		ev{id: "4", visitor: "a", site: "a", name: "Buy", at: t0.Add(30 * s)},
		// b: the three steps back to back.
		ev{id: "5", visitor: "b", site: "b", name: "View", at: t0},
		ev{id: "6", visitor: "b", site: "b", name: "Cart", at: t0.Add(5 * s)},
		ev{id: "7", visitor: "b", site: "b", name: "Buy", at: t0.Add(65 * s)},
		// c: the steps backwards.
		ev{id: "8", visitor: "c", site: "c", name: "Buy", at: t0},
		ev{id: "9", visitor: "c", site: "c", name: "Cart", at: t0.Add(10 * s)},
		ev{id: "10", visitor: "c", site: "c", name: "View", at: t0.Add(20 * s)},
		// d: the Cart 8 days after the View, past the 7-day window.
		ev{id: "11", visitor: "d", site: "d", name: "View", at: t0},
		ev{id: "12", visitor: "d", site: "d", name: "Cart", at: t0.Add(8 * 24 * time.Hour)},
		// e: View, View, Cart: strict chains from the second View.
		ev{id: "13", visitor: "e", site: "e", name: "View", at: t0},
		ev{id: "14", visitor: "e", site: "e", name: "View", at: t0.Add(1 * s)},
		ev{id: "15", visitor: "e", site: "e", name: "Cart", at: t0.Add(3 * s)},
		// f: no View at all.
		ev{id: "16", visitor: "f", site: "f", name: "Cart", at: t0},
	)
	// counts and median seconds of steps View, Cart, Buy.
	type want struct {
		counts [3]uint64
		median [3]float64
	}
	for _, tc := range []struct {
		site        string
		strict, any want
	}{
		{"a", want{[3]uint64{1, 0, 0}, [3]float64{}}, want{[3]uint64{1, 1, 1}, [3]float64{0, 20, 30}}},
		{"b", want{[3]uint64{1, 1, 1}, [3]float64{0, 5, 65}}, want{[3]uint64{1, 1, 1}, [3]float64{0, 5, 65}}},
		// any: Cart and View within 10 s from the Cart; all three within
		// 20 s from the Buy.
		{"c", want{[3]uint64{1, 0, 0}, [3]float64{}}, want{[3]uint64{1, 1, 1}, [3]float64{0, 10, 20}}},
		{"d", want{[3]uint64{1, 0, 0}, [3]float64{}}, want{[3]uint64{1, 0, 0}, [3]float64{}}},
		{"e", want{[3]uint64{1, 1, 0}, [3]float64{0, 2, 0}}, want{[3]uint64{1, 1, 0}, [3]float64{0, 3, 0}}},
		{"f", want{}, want{}},
		// All together. strict: Cart by b (5 s) and e (2 s), median of 2
		// values the upper, 5; Buy by b. any: Cart 20, 5, 10, 3 s: median
		// 10; Buy 30, 65, 20: median 30.
		{"", want{[3]uint64{5, 2, 1}, [3]float64{0, 5, 65}}, want{[3]uint64{5, 4, 3}, [3]float64{0, 10, 30}}},
	} {
		for _, mode := range []string{ModeStrict, ModeAny} {
			for _, by := range []string{ByVisitor, ByPerson} {
				w := tc.strict
				if mode == ModeAny {
					w = tc.any
				}
				t.Run(fmt.Sprintf("site=%q/%s/%s", tc.site, mode, by), func(t *testing.T) {
					got, err := FunnelBy(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30), Site: tc.site,
						Steps: []string{"View", "Cart", "Buy"}, Mode: mode}, by)
					if err != nil {
						t.Fatal(err)
					}
					names := []string{"View", "Cart", "Buy"}
					var steps []FunnelStep
					for i, name := range names {
						s := FunnelStep{Step: name, Count: w.counts[i], MedianSecondsToConvert: w.median[i]}
						if w.counts[0] > 0 {
							s.ConversionFromStart = float64(w.counts[i]) / float64(w.counts[0])
						}
						if i == 0 && w.counts[0] > 0 {
							s.ConversionFromPrevious = 1
						} else if i > 0 && w.counts[i-1] > 0 {
							s.ConversionFromPrevious = float64(w.counts[i]) / float64(w.counts[i-1])
						}
						steps = append(steps, s)
					}
					checkFunnel(t, got, steps)
				})
			}
		}
	}
}

// TestFunnelModesPageSteps: a page step matches page views by path in the
// strict and any modes too.
func TestFunnelModesPageSteps(t *testing.T) {
	conn := migratedConn(t)
	exec(t, conn, `INSERT INTO events (message_id, event_time, event_name, visitor_id, type, page_path) VALUES
		('1', '2026-11-02 10:00:00', '', 'a', 'page', '/products/1'),
		('2', '2026-11-02 10:00:05', 'Product Added', 'a', 'track', ''),
		('3', '2026-11-02 10:00:00', 'Product Added', 'b', 'track', ''),
		('4', '2026-11-02 10:00:07', '', 'b', 'page', '/products/2'),
		('5', '2026-11-02 10:00:00', '', 'c', 'page', '/blog/1'),
		('6', '2026-11-02 10:00:01', 'Product Added', 'c', 'track', '')`)
	// a: product page then add (both modes, 5 s); b: add then product page
	// (any only, 7 s); c: not a product page.
	for _, tc := range []struct {
		mode   string
		counts [2]uint64
		median float64
	}{{ModeStrict, [2]uint64{2, 1}, 5}, {ModeAny, [2]uint64{2, 2}, 7}} {
		got, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30),
			Steps: []string{"page:/products/*", "Product Added"}, Mode: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Steps) != 2 || got.Steps[0].Count != tc.counts[0] || got.Steps[1].Count != tc.counts[1] || !near(got.Steps[1].MedianSecondsToConvert, tc.median) {
			t.Errorf("%s: %+v, want counts %v, median %v", tc.mode, got.Steps, tc.counts, tc.median)
		}
	}
}

// TestFunnelModesBreakdown: modes strict and any with a breakdown, a
// trend, property filters and (strict) exclusions.
func TestFunnelModesBreakdown(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) // a Monday
	s := time.Second
	insertFull(t, conn,
		// a: View (Email, plan pro), Cart 10 s, Buy 20 s: every mode.
		fev{id: "a1", visitor: "a", name: "View", at: t0, channel: "Email", props: `{"plan":"pro"}`},
		fev{id: "a2", visitor: "a", name: "Cart", at: t0.Add(10 * s), channel: "Email"},
		fev{id: "a3", visitor: "a", name: "Buy", at: t0.Add(20 * s), channel: "Email"},
		// b: View (Social), Other, Cart 10 s: strict stops at View.
		fev{id: "b1", visitor: "b", name: "View", at: t0, channel: "Social"},
		fev{id: "b2", visitor: "b", name: "Other", at: t0.Add(5 * s), channel: "Social"},
		fev{id: "b3", visitor: "b", name: "Cart", at: t0.Add(10 * s), channel: "Social"},
		// c: Cart (Email), then View (Direct) 5 s later: strict stops at
		// View; any reaches Cart in 5 s. Its value is its View's: Direct.
		fev{id: "c1", visitor: "c", name: "Cart", at: t0, channel: "Email"},
		fev{id: "c2", visitor: "c", name: "View", at: t0.Add(5 * s), channel: "Direct"},
		// d, a day later: View (Email), Cart 30 s.
		fev{id: "d1", visitor: "d", name: "View", at: t0.Add(day), channel: "Email"},
		fev{id: "d2", visitor: "d", name: "Cart", at: t0.Add(day + 30*s), channel: "Email"},
	)
	opts := func(mode string) Options {
		return Options{From: date(2026, 11, 2), To: date(2026, 11, 4), Steps: []string{"View", "Cart", "Buy"}, Mode: mode}
	}
	counts := func(steps []FunnelStep) string {
		var out []string
		for _, s := range steps {
			out = append(out, fmt.Sprintf("%d", s.Count))
		}
		return strings.Join(out, "/")
	}
	for _, tc := range []struct {
		mode string
		// breakdown by channel: value:counts:medians of Cart and Buy
		breakdown string
		// trend by day: period:counts
		trend string
	}{
		// strict: Email a (10 s, 20 s) and d (30 s): Cart median of [10,
		// 30] the upper, 30.
		{ModeStrict, "Email:2/2/1:30,20 Direct:1/0/0:0,0 Social:1/0/0:0,0", "2026-11-02:3/1/1 2026-11-03:1/1/0"},
		// any: Social b reaches Cart in 10 s, Direct c in 5 s.
		{ModeAny, "Email:2/2/1:30,20 Direct:1/1/0:5,0 Social:1/1/0:10,0", "2026-11-02:3/3/1 2026-11-03:1/1/0"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			o := opts(tc.mode)
			o.Breakdown = "channel"
			r, err := Funnel(t.Context(), conn, o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range r.Breakdown {
				got = append(got, fmt.Sprintf("%s:%s:%v,%v", g.Value, counts(g.Steps), g.Steps[1].MedianSecondsToConvert, g.Steps[2].MedianSecondsToConvert))
			}
			if strings.Join(got, " ") != tc.breakdown {
				t.Errorf("breakdown %q, want %q", strings.Join(got, " "), tc.breakdown)
			}
			o = opts(tc.mode)
			o.Trend = TrendDay
			if r, err = Funnel(t.Context(), conn, o); err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, p := range r.Trend {
				got = append(got, p.Period+":"+counts(p.Steps))
			}
			if strings.Join(got, " ") != tc.trend {
				t.Errorf("trend %q, want %q", strings.Join(got, " "), tc.trend)
			}

			// Property filters: only a's View has plan pro.
			o = opts(tc.mode)
			o.Steps = []string{"View[plan=pro]", "Cart"}
			if r, err = Funnel(t.Context(), conn, o); err != nil {
				t.Fatal(err)
			}
			if got := counts(r.Steps); got != "1/1" {
				t.Errorf("filtered counts %s, want 1/1", got)
			}
			// A property breakdown: a in "pro", the others in "".
			o = opts(tc.mode)
			o.Steps, o.Breakdown = []string{"View", "Cart"}, "property:plan"
			if r, err = Funnel(t.Context(), conn, o); err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, g := range r.Breakdown {
				got = append(got, g.Value+":"+counts(g.Steps))
			}
			want := ":3/1 pro:1/1" // strict: d alone of b, c, d
			if tc.mode == ModeAny {
				want = ":3/3 pro:1/1"
			}
			if strings.Join(got, " ") != want {
				t.Errorf("property breakdown %q, want %q", strings.Join(got, " "), want)
			}
		})
	}
	// Exclusions change nothing in mode strict: b's Other already breaks
	// its chain. In mode any it keeps b at View: the Other lies between
	// its View and Cart, and no later View follows the Cart.
	o := opts(ModeStrict)
	o.Steps, o.Exclude = []string{"View", "Cart"}, []string{"Other"}
	r, err := Funnel(t.Context(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(r.Steps); got != "4/2" {
		t.Errorf("strict with exclusions: %s, want 4/2", got)
	}
	o.Mode = ModeAny
	if r, err = Funnel(t.Context(), conn, o); err != nil {
		t.Fatal(err)
	}
	if got := counts(r.Steps); got != "4/3" {
		t.Errorf("any with exclusions: %s, want 4/3", got)
	}
	// Per-step windows stay refused in mode any, with a drop-off list too.
	o = opts(ModeAny)
	o.Steps, o.Dropoff = []string{"View", "Cart within 1m"}, 1
	if _, err := Funnel(t.Context(), conn, o); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "mode any: per-step windows") {
		t.Errorf("any with per-step windows: %v, want ErrNotSupported", err)
	}
}

// A strict or any funnel without filters, per-step windows, sessions or
// groups reads none of the columns they need.
func TestFunnelModesSQLVariants(t *testing.T) {
	render := func(steps []string, by, breakdown string) string {
		t.Helper()
		parsed, err := parseSteps(steps)
		if err != nil {
			t.Fatal(err)
		}
		q := &funnelQuery{by: by, mode: ModeStrict, steps: parsed, window: 3600}
		sql, err := q.modesSQL(breakdown)
		if err != nil {
			t.Fatal(err)
		}
		// Only the SQL, not the header comment.
		return sql[strings.Index(sql, "\nWITH"):]
	}
	plain := render([]string{"A", "B"}, ByVisitor, "")
	for _, part := range []string{"properties", "page_path", "session_id", "step_window_ms", "traffic_channel", "filter_steps", "fromUnixTimestamp64Milli(first.1"} {
		if strings.Contains(plain, part) {
			t.Errorf("the plain funnel reads %s:\n%s", part, plain)
		}
	}
	for _, tc := range []struct {
		steps         []string
		by, breakdown string
		want          []string
	}{
		{[]string{"A[k=v]", "B"}, ByVisitor, "", []string{"filter_steps", "JSONExtractString(properties, pk)"}},
		{[]string{"A", "B within 1m"}, ByVisitor, "", []string{"step_window_ms"}},
		{[]string{"page:/p/*", "B"}, ByVisitor, "", []string{"e.page_path LIKE q"}},
		{[]string{"A", "B"}, BySession, "", []string{"e.session_id AS unit", "AND e.session_id != ''"}},
		{[]string{"A", "B"}, ByVisitor, "channel", []string{"toString(e.traffic_channel)", "first.4 AS value"}},
		{[]string{"A", "B"}, ByVisitor, TrendWeek, []string{"toMonday(fromUnixTimestamp64Milli(first.1"}},
	} {
		got := render(tc.steps, tc.by, tc.breakdown)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v by %s, breakdown %q: no %q in\n%s", tc.steps, tc.by, tc.breakdown, w, got)
			}
		}
	}
}
