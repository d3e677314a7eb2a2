package report

import (
	"strings"
	"testing"
	"time"
)

// TestFunnelModesAnyExclude: exclusion steps in mode any (funnel_modes.sql):
// an excluded event strictly inside the span of the step events used
// stops the unit, one at either end or outside the span does not.
func TestFunnelModesAnyExclude(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := time.Second
	insertFull(t, conn,
		// in: Other between View and Cart; no View at or after the Cart.
		// Stops at View (without exclusions: Cart in 10 s).
		fev{id: "i1", visitor: "in", name: "View", at: t0},
		fev{id: "i2", visitor: "in", name: "Other", at: t0.Add(5 * s)},
		fev{id: "i3", visitor: "in", name: "Cart", at: t0.Add(10 * s)},
		// boundary: an Other in the View's millisecond and one in the
		// Cart's: not strictly inside. Cart in 10 s.
		fev{id: "b1", visitor: "boundary", name: "View", at: t0},
		fev{id: "b2", visitor: "boundary", name: "Other", at: t0},
		fev{id: "b3", visitor: "boundary", name: "Cart", at: t0.Add(10 * s)},
		fev{id: "b4", visitor: "boundary", name: "Other", at: t0.Add(10 * s)},
		// outside: Others before the View and after the Cart (inside the
		// 1 h window from the View, outside the span). Cart in 9 s.
		fev{id: "o1", visitor: "outside", name: "Other", at: t0},
		fev{id: "o2", visitor: "outside", name: "View", at: t0.Add(1 * s)},
		fev{id: "o3", visitor: "outside", name: "Cart", at: t0.Add(10 * s)},
		fev{id: "o4", visitor: "outside", name: "Other", at: t0.Add(20 * s)},
		// later: the span from the first View holds an Other; the one from
		// the Cart (Cart, then the second View) does not. Cart in 20 s,
		// done at 30 s (without exclusions: 10 s).
		fev{id: "l1", visitor: "later", name: "View", at: t0},
		fev{id: "l2", visitor: "later", name: "Other", at: t0.Add(5 * s)},
		fev{id: "l3", visitor: "later", name: "Cart", at: t0.Add(10 * s)},
		fev{id: "l4", visitor: "later", name: "View", at: t0.Add(30 * s)},
		// reversed: Cart, Other, View: stops at View (without: 10 s).
		fev{id: "r1", visitor: "reversed", name: "Cart", at: t0},
		fev{id: "r2", visitor: "reversed", name: "Other", at: t0.Add(5 * s)},
		fev{id: "r3", visitor: "reversed", name: "View", at: t0.Add(10 * s)},
		// three: Other between Cart and Buy: Cart in 5 s, no Buy (without:
		// Buy in 9 s).
		fev{id: "t1", visitor: "three", name: "View", at: t0},
		fev{id: "t2", visitor: "three", name: "Cart", at: t0.Add(5 * s)},
		fev{id: "t3", visitor: "three", name: "Other", at: t0.Add(7 * s)},
		fev{id: "t4", visitor: "three", name: "Buy", at: t0.Add(9 * s)},
		// threeok: the Other in the Buy's millisecond: Buy in 9 s.
		fev{id: "k1", visitor: "threeok", name: "View", at: t0},
		fev{id: "k2", visitor: "threeok", name: "Cart", at: t0.Add(5 * s)},
		fev{id: "k3", visitor: "threeok", name: "Buy", at: t0.Add(9 * s)},
		fev{id: "k4", visitor: "threeok", name: "Other", at: t0.Add(9 * s)},
	)
	opts := Options{From: date(2026, 11, 2), To: date(2026, 11, 3), Steps: []string{"View", "Cart", "Buy"},
		Window: time.Hour, Mode: ModeAny, Exclude: []string{" Other"}}
	// With exclusions: Cart by boundary 10, outside 9, later 20, three 5,
	// threeok 5: sorted 5 5 9 10 20, median (position 2) 9, p90 (position
	// 4) 20. Buy by threeok, 9 s.
	withExclusions := []FunnelStep{
		step("View", 7, 1, 1, 0, 0),
		step("Cart", 5, 5.0/7, 5.0/7, 9, 20),
		step("Buy", 1, 1.0/7, 1.0/5, 9, 9),
	}
	for _, by := range []string{ByVisitor, ByPerson} {
		got, err := FunnelBy(t.Context(), conn, opts, by)
		if err != nil {
			t.Fatal(err)
		}
		checkSteps(t, "exclusions by "+by, got.Steps, withExclusions)
	}
	// The same with a daily trend: one period.
	o := opts
	o.Trend = TrendDay
	got, err := Funnel(t.Context(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Trend) != 1 || got.Trend[0].Period != "2026-11-02" {
		t.Fatalf("trend %+v, want one period 2026-11-02", got.Trend)
	}
	checkSteps(t, "trend", got.Trend[0].Steps, withExclusions)

	// Without exclusions every unit reaches Cart (5 5 9 10 10 10 10:
	// median 10, p90 10), three and threeok Buy in 9 s.
	o = opts
	o.Exclude = nil
	if got, err = Funnel(t.Context(), conn, o); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "without exclusions", got.Steps, []FunnelStep{
		step("View", 7, 1, 1, 0, 0),
		step("Cart", 7, 1, 1, 10, 10),
		step("Buy", 2, 2.0/7, 2.0/7, 9, 9),
	})

	// Drop-off lists with exclusions. At Cart: three (its Cart, then the
	// Other), boundary (its Cart; the Other in the same millisecond is not
	// after it), outside (next its second Other), later (done by its
	// second View at 30 s). At View: in (its View, then the Other) and
	// reversed (its only View, at 10 s).
	for _, tc := range []struct {
		k    int
		want string
		next []NextEvent
	}{
		{2, "three:three::10:00:05.000: boundary:boundary::10:00:10.000: outside:outside::10:00:10.000: later:later::10:00:30.000:",
			[]NextEvent{{"Other", 2}}},
		{1, "in:in::10:00:00.000: reversed:reversed::10:00:10.000:", []NextEvent{{"Other", 1}}},
	} {
		o := opts
		o.Dropoff = tc.k
		got, err := Funnel(t.Context(), conn, o)
		if err != nil {
			t.Fatal(err)
		}
		if g := dropped(got.Dropoff.Visitors); g != tc.want {
			t.Errorf("dropoff %d: %q, want %q", tc.k, g, tc.want)
		}
		checkNext(t, got.Dropoff.NextEvents, tc.next)
	}
}

// Only mode any with exclusions reads them: mode strict, where they change
// nothing, and a funnel without them render the defaults.
func TestFunnelModesExcludeSQL(t *testing.T) {
	steps, err := parseSteps([]string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	const reads = "has({exclude:Array(String)}, e.event_name)"
	for _, tc := range []struct {
		mode    string
		exclude []string
		want    bool
	}{
		{ModeAny, []string{"X"}, true},
		{ModeAny, nil, false},
		{ModeStrict, []string{"X"}, false},
	} {
		q := &funnelQuery{opts: Options{Exclude: tc.exclude}, by: ByVisitor, mode: tc.mode, steps: steps, window: 3600}
		sql, err := q.modesSQL("")
		if err != nil {
			t.Fatal(err)
		}
		sql = sql[strings.Index(sql, "\nWITH"):]
		if got := strings.Contains(sql, reads); got != tc.want {
			t.Errorf("%s, exclude %v: reads the exclusions %v, want %v", tc.mode, tc.exclude, got, tc.want)
		}
		if got := strings.Contains(sql, "AND NOT arrayExists(x -> x > ti"); got != tc.want {
			t.Errorf("%s, exclude %v: checks the anchors' spans %v, want %v", tc.mode, tc.exclude, got, tc.want)
		}
	}
}
