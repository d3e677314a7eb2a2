package report

import (
	"slices"
	"testing"
)

// TestFunnelReportFilter filters breakdownWorld's funnel by the channel,
// touchpoint and properties of each visitor's earliest View: c's first
// View is Organic Search, its repeated View Email, so --channel Email does
// not count c, though an event-level filter would; a's Cart and Buy came
// through Direct and no channel, and still count (only the step-1 event is
// filtered).
func TestFunnelReportFilter(t *testing.T) {
	conn, _ := breakdownWorld(t)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"View", "Cart", "Buy"}, Window: day}
	run := func(t *testing.T, o Options, by string) *FunnelReport {
		t.Helper()
		got, err := FunnelBy(t.Context(), conn, o, by)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	aOnly := []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 1, 1, 1, 60, 60), step("Buy", 1, 1, 1, 86400, 86400)}
	for _, c := range []struct {
		name   string
		filter Filter
		want   []FunnelStep
	}{
		// a b d, as the Email row of TestFunnelBreakdown.
		{"channel", Filter{Channels: []string{"Email"}},
			[]FunnelStep{step("View", 3, 1, 1, 0, 0), step("Cart", 3, 1, 1, 60, 120), step("Buy", 2, 2.0/3, 2.0/3, 86400, 86400)}},
		// a b c d: to Cart 10 60 120 3630, to Buy 20 86400.
		{"two channels", Filter{Channels: []string{"Email", "Organic Search"}},
			[]FunnelStep{step("View", 4, 1, 1, 0, 0), step("Cart", 4, 1, 1, 120, 3630), step("Buy", 2, 0.5, 0.5, 86400, 86400)}},
		{"touchpoint", Filter{Touchpoints: []string{"app"}}, aOnly},
		{"property", Filter{Where: []Property{{"plan", "pro"}}}, aOnly},
		// b's plan is the JSON number 3; with Email too.
		{"number property and channel", Filter{Channels: []string{"Email"}, Where: []Property{{"plan", "3"}}},
			[]FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 1, 1, 1, 120, 120), step("Buy", 0, 0, 0, 0, 0)}},
		// e is Paid but never views.
		{"nobody", Filter{Channels: []string{"Paid"}}, zeros("View", "Cart", "Buy")},
		{"property and touchpoint of different visitors", Filter{Touchpoints: []string{"app"}, Where: []Property{{"plan", "3"}}}, zeros("View", "Cart", "Buy")},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			o.Filter = c.filter
			for _, by := range []string{ByVisitor, ByPerson} {
				checkSteps(t, c.name+" by "+by, run(t, o, by).Steps, c.want)
			}
		})
	}

	// Every mode: the filtered funnel is the breakdown's row, and leaves c
	// out.
	for _, mode := range []string{ModeOrdered, ModeStrict, ModeAny} {
		t.Run(mode, func(t *testing.T) {
			o := opts
			o.Mode, o.Breakdown = mode, "channel"
			all := run(t, o, ByVisitor)
			i := slices.IndexFunc(all.Breakdown, func(g FunnelGroup) bool { return g.Value == "Email" })
			if i < 0 {
				t.Fatalf("no Email group in %+v", all.Breakdown)
			}
			o.Breakdown, o.Filter = "", Filter{Channels: []string{"Email"}}
			got := run(t, o, ByVisitor)
			checkSteps(t, mode+" filtered", got.Steps, all.Breakdown[i].Steps)
			if got.Steps[0].Count != 3 {
				t.Errorf("%s: %d visitors at step 1, want 3 (a b d)", mode, got.Steps[0].Count)
			}
			// Filtered and broken down by property: a "pro", b "3", d "".
			o.Breakdown = "property:plan"
			var values []string
			for _, g := range run(t, o, ByVisitor).Breakdown {
				values = append(values, g.Value)
			}
			if !slices.Equal(values, []string{"", "3", "pro"}) {
				t.Errorf("%s: groups %q, want \"\", 3, pro", mode, values)
			}
			// The drop-off list after Cart: b (Email); c (Organic Search)
			// dropped off too but is filtered out.
			o.Breakdown, o.Dropoff = "", 2
			d := run(t, o, ByVisitor).Dropoff
			if d == nil || len(d.Visitors) != 1 || d.Visitors[0].VisitorID != "b" {
				t.Errorf("%s: drop-off %+v, want b alone", mode, d)
			}
		})
	}

	// Trend: the Email visitors all start in the week of Nov 2.
	o := opts
	o.Trend, o.Filter = TrendWeek, Filter{Channels: []string{"Email"}}
	got := run(t, o, ByVisitor)
	if len(got.Trend) != 3 || got.Trend[1].Period != "2026-11-02" || got.Trend[1].Steps[0].Count != 3 || got.Trend[2].Steps[0].Count != 0 {
		t.Errorf("filtered trend %+v", got.Trend)
	}
}
