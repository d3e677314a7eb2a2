package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
)

// TestFunnelViews checks the parameterized views report_funnel_N that
// `touchstream migrate` creates (FunnelViews through
// clickhouse.MigrateConfig.Views): for 2 and 3 steps, with no breakdown, a
// breakdown by channel, device and property, and a trend by day and week,
// and the plain funnel over a second range and another site, each view
// returns the rows the funnel
// report computes for the same options (the groups of its Breakdown or
// Trend, else its Steps), every group and step, in the query's order.
func TestFunnelViews(t *testing.T) {
	views, err := FunnelViews()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	if want := []string{"report_funnel_2", "report_funnel_3", "report_funnel_4", "report_funnel_5",
		"report_funnel_6", "report_funnel_7", "report_funnel_8"}; !slices.Equal(names, want) {
		t.Fatalf("FunnelViews: %q, want %q", names, want)
	}
	conn := migratedConnWith(t, clickhouse.MigrateConfig{Views: views})
	insertBreakdownWorld(t, conn)

	type variant struct{ breakdown, property, trend string }
	variants := []variant{{}, {breakdown: "channel"}, {breakdown: "device"}, {breakdown: "property", property: "plan"},
		{trend: TrendDay}, {trend: TrendWeek}}
	type tcase struct {
		steps    []string
		from, to time.Time
		site     string
		v        variant
	}
	var cases []tcase
	for _, steps := range [][]string{{"View", "Cart"}, {"View", "Cart", "Buy"}} {
		for _, v := range variants {
			cases = append(cases, tcase{steps, date(2026, 11, 1), date(2026, 11, 15), "", v})
		}
		cases = append(cases, tcase{steps, date(2026, 11, 2), date(2026, 11, 3), "", variant{}},
			tcase{steps, date(2026, 11, 1), date(2026, 11, 15), "none", variant{breakdown: "channel"}})
	}
	checked := 0
	for _, c := range cases {
		steps, v := c.steps, c.v
		o := Options{From: c.from, To: c.to, Site: c.site, Steps: steps, Window: day, Breakdown: v.breakdown, Trend: v.trend}
		if v.property != "" {
			o.Breakdown = "property:" + v.property
		}
		name := fmt.Sprintf("%d steps %s..%s site=%q %+v", len(steps), c.from.Format(time.DateOnly), c.to.Format(time.DateOnly), c.site, v)
		want, err := Funnel(t.Context(), conn, o)
		if err != nil {
			t.Fatalf("%s: report: %v", name, err)
		}
		var wantGroups []FunnelGroup
		switch {
		case v.breakdown != "":
			wantGroups = want.Breakdown
		case v.trend != "":
			for _, p := range want.Trend {
				wantGroups = append(wantGroups, FunnelGroup{Value: p.Period, Steps: p.Steps})
			}
		default:
			wantGroups = []FunnelGroup{{Value: "", Steps: want.Steps}}
		}
		breakdown := cmpOr(v.breakdown, v.trend)
		gotGroups := funnelViewGroups(t, conn, len(steps), o, breakdown, v.property)
		slices.SortStableFunc(wantGroups, func(a, b FunnelGroup) int { return strings.Compare(a.Value, b.Value) })
		if len(gotGroups) != len(wantGroups) {
			t.Fatalf("%s: view has %d groups %+v, report %d %+v", name, len(gotGroups), gotGroups, len(wantGroups), wantGroups)
		}
		for i := range wantGroups {
			if gotGroups[i].Value != wantGroups[i].Value {
				t.Errorf("%s: group %d is %q, report's %q", name, i, gotGroups[i].Value, wantGroups[i].Value)
				continue
			}
			checkSteps(t, name+" group "+wantGroups[i].Value, gotGroups[i].Steps, wantGroups[i].Steps)
		}
		if slices.ContainsFunc(wantGroups, func(g FunnelGroup) bool { return len(g.Steps) > 0 && g.Steps[0].Count > 0 }) {
			checked++
		}
	}
	if checked != len(cases)-2 { // all but site "none"
		t.Errorf("%d of %d cases had visitors, want all but the 2 of site \"none\": the fixtures do not exercise the views", checked, len(cases))
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// funnelViewGroups calls report_funnel_<n> with o's options (each step one
// event name) and returns its rows as groups, in the view's order (by
// value, then position).
func funnelViewGroups(t *testing.T, conn driver.Conn, n int, o Options, breakdown, property string) []FunnelGroup {
	t.Helper()
	quoted := make([]string, n)
	args := []string{"from = " + sqlTime(o.From), "to = " + sqlTime(o.To), "site = " + sqlString(o.Site),
		fmt.Sprintf("window_seconds = %d", int64(o.Window/time.Second))}
	for i, s := range o.Steps {
		quoted[i] = sqlString(s)
		args = append(args, fmt.Sprintf("step_%d = [%s]", i, sqlString(s)))
	}
	args = append(args, "steps = ["+strings.Join(quoted, ", ")+"]",
		"breakdown = "+sqlString(breakdown), "breakdown_property = "+sqlString(property))
	q := fmt.Sprintf("SELECT * FROM report_funnel_%d(%s)", n, strings.Join(args, ", "))
	rows, err := conn.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	groups, err := readFunnelRows(rows, n)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return groups
}
