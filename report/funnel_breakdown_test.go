package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// step is a FunnelStep with its p90 (checkSteps compares both).
func step(name string, count uint64, fromStart, fromPrevious, median, p90 float64) FunnelStep {
	return FunnelStep{Step: name, Count: count, ConversionFromStart: fromStart, ConversionFromPrevious: fromPrevious,
		MedianSecondsToConvert: median, P90SecondsToConvert: &p90}
}

// checkSteps compares steps, p90 included.
func checkSteps(t *testing.T, what string, got, want []FunnelStep) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d steps %+v, want %d", what, len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Step != w.Step || g.Count != w.Count || !near(g.ConversionFromStart, w.ConversionFromStart) ||
			!near(g.ConversionFromPrevious, w.ConversionFromPrevious) || !near(g.MedianSecondsToConvert, w.MedianSecondsToConvert) ||
			g.P90SecondsToConvert == nil || !near(*g.P90SecondsToConvert, *w.P90SecondsToConvert) {
			p90 := "nil"
			if g.P90SecondsToConvert != nil {
				p90 = fmt.Sprint(*g.P90SecondsToConvert)
			}
			t.Errorf("%s: step %d = %+v (p90 %s), want %+v (p90 %v)", what, i+1, g, p90, w, *w.P90SecondsToConvert)
		}
	}
}

// zeros is a funnel nobody entered.
func zeros(names ...string) []FunnelStep {
	out := make([]FunnelStep, len(names))
	for i, n := range names {
		out[i] = step(n, 0, 0, 0, 0, 0)
	}
	return out
}

// breakdownWorld: View, Cart, Buy with a 1-day window; t0 is Monday
// 2026-11-02 10:00 UTC.
func breakdownWorld(t *testing.T) (driver.Conn, time.Time) {
	conn := migratedConn(t)
	return conn, insertBreakdownWorld(t, conn)
}

// insertBreakdownWorld inserts breakdownWorld's events into conn's
// database and returns t0.
func insertBreakdownWorld(t *testing.T, conn driver.Conn) time.Time {
	t.Helper()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := time.Second
	insertFull(t, conn,
		// a (Email, plan "pro"): Cart after 60 s, Buy exactly 1 day after View (inclusive).
		fev{id: "a1", visitor: "a", name: "View", at: t0, channel: "Email", props: `{"plan":"pro","it's":"x"}`,
			touchpoint: "app", campaign: "spring", device: "mobile", source: "google"},
		fev{id: "a2", visitor: "a", name: "Cart", at: t0.Add(60 * s), channel: "Direct"},
		fev{id: "a3", visitor: "a", name: "Buy", at: t0.Add(day)},
		// b (Email, plan 3, a number): Cart after 120 s, Buy 1 ms past the window.
		fev{id: "b1", visitor: "b", name: "View", at: t0.Add(time.Hour), channel: "Email", props: `{"plan":3}`},
		fev{id: "b2", visitor: "b", name: "Cart", at: t0.Add(time.Hour + 120*s)},
		fev{id: "b3", visitor: "b", name: "Buy", at: t0.Add(time.Hour + day + time.Millisecond)},
		// c: first View from Organic Search, a repeated View from Email;
		// the value is the first one's. Cart twice; time to Cart counts from
		// the first View: 1h + 30 s = 3630 s.
		fev{id: "c1", visitor: "c", name: "View", at: t0.Add(2 * time.Hour), channel: "Organic Search"},
		fev{id: "c2", visitor: "c", name: "View", at: t0.Add(3 * time.Hour), channel: "Email"},
		fev{id: "c3", visitor: "c", name: "Cart", at: t0.Add(3*time.Hour + 30*s)},
		fev{id: "c4", visitor: "c", name: "Cart", at: t0.Add(3*time.Hour + 40*s)},
		// e (Paid) never views: in no group.
		fev{id: "e2", visitor: "e", name: "Cart", at: t0, channel: "Paid"},
		fev{id: "e3", visitor: "e", name: "Buy", at: t0.Add(s), channel: "Paid"},
		// f (no channel) views at midnight starting the next week.
		fev{id: "f1", visitor: "f", name: "View", at: date(2026, 11, 9)},
	)
	// d (Email) arrives out of order: Buy, then Cart, then View, each its own insert.
	insertFull(t, conn, fev{id: "d3", visitor: "d", name: "Buy", at: t0.Add(4*time.Hour + 20*s)})
	insertFull(t, conn, fev{id: "d2", visitor: "d", name: "Cart", at: t0.Add(4*time.Hour + 10*s)})
	insertFull(t, conn, fev{id: "d1", visitor: "d", name: "View", at: t0.Add(4 * time.Hour), channel: "Email"})
	return t0
}

func TestFunnelBreakdown(t *testing.T) {
	conn, _ := breakdownWorld(t)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"View", "Cart", "Buy"}, Window: day}

	// The whole funnel: View a b c d f = 5; Cart a b c d = 4; Buy a d = 2.
	// To Cart: 10 60 120 3630: median [2] = 120, p90 [floor(3.6)] = 3630.
	// To Buy: 20 86400: median [1] = 86400, p90 [1] = 86400.
	overall := []FunnelStep{
		step("View", 5, 1, 1, 0, 0),
		step("Cart", 4, 0.8, 0.8, 120, 3630),
		step("Buy", 2, 0.4, 0.5, 86400, 86400),
	}
	opts.Breakdown = "channel"
	got, err := Funnel(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "overall", got.Steps, overall)
	// Email: a b d (Cart 10 60 120: median [1] 60, p90 [2] 120; Buy a d);
	// then by value among equal sizes: '' (f), Organic Search (c).
	want := []FunnelGroup{
		{"Email", []FunnelStep{step("View", 3, 1, 1, 0, 0), step("Cart", 3, 1, 1, 60, 120), step("Buy", 2, 2.0/3, 2.0/3, 86400, 86400)}},
		{"", []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 0, 0, 0, 0, 0), step("Buy", 0, 0, 0, 0, 0)}},
		{"Organic Search", []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 1, 1, 1, 3630, 3630), step("Buy", 0, 0, 0, 0, 0)}},
	}
	checkGroups(t, got.Breakdown, want)
	// By person (nobody is linked: persons are the visitors), with an
	// exclusion nobody did: the same groups.
	byPerson := opts
	byPerson.Exclude = []string{"Refund"}
	if got, err = FunnelBy(t.Context(), conn, byPerson, ByPerson); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "by person", got.Steps, overall)
	checkGroups(t, got.Breakdown, want)

	// By a property: "pro" (a), "3" (b, a JSON number), '' (c d f).
	opts.Breakdown = "property:plan"
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	checkGroups(t, got.Breakdown, []FunnelGroup{
		{"", []FunnelStep{step("View", 3, 1, 1, 0, 0), step("Cart", 2, 2.0/3, 2.0/3, 3630, 3630), step("Buy", 1, 1.0/3, 0.5, 20, 20)}},
		{"3", []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 1, 1, 1, 120, 120), step("Buy", 0, 0, 0, 0, 0)}},
		{"pro", []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 1, 1, 1, 60, 60), step("Buy", 1, 1, 1, 86400, 86400)}},
	})
	// A property name is a parameter: a quote in it is just a character.
	opts.Breakdown = "property:it's"
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	if len(got.Breakdown) != 2 || got.Breakdown[0].Value != "" || got.Breakdown[0].Steps[0].Count != 4 ||
		got.Breakdown[1].Value != "x" || got.Breakdown[1].Steps[0].Count != 1 {
		t.Errorf("breakdown by it's = %+v", got.Breakdown)
	}

	// The other breakdowns read a's View: a alone, then the rest (b c d f).
	for by, value := range map[string]string{"touchpoint": "app", "campaign": "spring", "device": "mobile", "source": "google"} {
		opts.Breakdown = by
		if got, err = Funnel(t.Context(), conn, opts); err != nil {
			t.Fatal(err)
		}
		checkGroups(t, got.Breakdown, []FunnelGroup{
			{"", []FunnelStep{step("View", 4, 1, 1, 0, 0), step("Cart", 3, 0.75, 0.75, 120, 3630), step("Buy", 1, 0.25, 1.0/3, 20, 20)}},
			{value, []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 1, 1, 1, 60, 60), step("Buy", 1, 1, 1, 86400, 86400)}},
		})
	}

	// An empty range: the funnel is zeros, the breakdown empty.
	opts.Breakdown, opts.From, opts.To = "channel", date(2026, 10, 1), date(2026, 10, 2)
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "empty", got.Steps, zeros("View", "Cart", "Buy"))
	var b bytes.Buffer
	if err := Write(&b, got, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"breakdown_by":"channel","breakdown":[]`) {
		t.Errorf("empty breakdown json: %s", b.String())
	}
}

func checkGroups(t *testing.T, got, want []FunnelGroup) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d groups %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Value != w.Value {
			t.Errorf("group %d = %q, want %q", i, got[i].Value, w.Value)
			continue
		}
		checkSteps(t, "group "+w.Value, got[i].Steps, w.Steps)
	}
}

func TestFunnelTrend(t *testing.T) {
	conn, _ := breakdownWorld(t)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"View", "Cart", "Buy"}, Window: day, Trend: TrendWeek}
	got, err := Funnel(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Nov 1 is a Sunday: its week starts Oct 26; Nov 14 is in the week of Nov 9.
	monday2 := []FunnelStep{step("View", 4, 1, 1, 0, 0), step("Cart", 4, 1, 1, 120, 3630), step("Buy", 2, 0.5, 0.5, 86400, 86400)}
	only := []FunnelStep{step("View", 1, 1, 1, 0, 0), step("Cart", 0, 0, 0, 0, 0), step("Buy", 0, 0, 0, 0, 0)}
	want := []FunnelPeriod{
		{"2026-10-26", zeros("View", "Cart", "Buy"), 0},
		{"2026-11-02", monday2, 0.5},
		{"2026-11-09", only, 0},
	}
	checkPeriods(t, got.Trend, want)

	// By day: 14 days, Nov 1 to Nov 14; f's View at midnight is Nov 9's.
	opts.Trend = TrendDay
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	var days []FunnelPeriod
	for d := 1; d <= 14; d++ {
		p := FunnelPeriod{date(2026, 11, d).Format(time.DateOnly), zeros("View", "Cart", "Buy"), 0}
		switch d {
		case 2:
			p.Steps, p.Conversion = monday2, 0.5
		case 9:
			p.Steps = only
		}
		days = append(days, p)
	}
	checkPeriods(t, got.Trend, days)

	// A range of one millisecond: one day, nobody in it.
	opts.From, opts.To = date(2026, 11, 3), date(2026, 11, 3).Add(time.Millisecond)
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	checkPeriods(t, got.Trend, []FunnelPeriod{{"2026-11-03", zeros("View", "Cart", "Buy"), 0}})
}

func checkPeriods(t *testing.T, got, want []FunnelPeriod) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d periods %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Period != w.Period || !near(got[i].Conversion, w.Conversion) {
			t.Errorf("period %d = %s (conversion %v), want %s (%v)", i, got[i].Period, got[i].Conversion, w.Period, w.Conversion)
			continue
		}
		checkSteps(t, w.Period, got[i].Steps, w.Steps)
	}
}

// p90 in every mode: three visitors reach B after 10, 20 and 30 s:
// median [floor(1.5)] = 20, p90 [floor(2.7)] = 30.
func TestFunnelP90AllModes(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i, v := range []string{"x", "y", "z"} {
		insertEvents(t, conn,
			ev{id: v + "1", visitor: v, name: "A", at: t0},
			ev{id: v + "2", visitor: v, name: "B", at: t0.Add(time.Duration(i+1) * 10 * time.Second)})
	}
	for _, mode := range []string{ModeOrdered, ModeStrict, ModeAny} {
		got, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 3), Steps: []string{"A", "B"}, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		checkSteps(t, mode, got.Steps, []FunnelStep{step("A", 3, 1, 1, 0, 0), step("B", 3, 1, 1, 20, 30)})
	}
	for _, bad := range []string{"A|B", "A[k=v]", "page:/x", " "} {
		if _, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 3), Steps: []string{"A", "B"}, Exclude: []string{bad}}); err == nil {
			t.Errorf("exclude %q: no error", bad)
		}
	}
}
