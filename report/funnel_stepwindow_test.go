package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFunnelStepWindows: per-step windows ("Cart within 10m") in modes
// ordered and strict, at and 1 ms past their boundaries, with repeated
// step-1 events and with the conversion window.
func TestFunnelStepWindows(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m, ms := time.Minute, time.Millisecond
	// Steps View, Cart within 10m, Buy within 55m; conversion window 1h.
	insertEvents(t, conn,
		// a: Cart exactly 10 min after View, Buy exactly 50 min after Cart
		// and 60 min (the conversion window) after View: all three.
		ev{id: "a1", visitor: "a", site: "a", name: "View", at: t0},
		ev{id: "a2", visitor: "a", site: "a", name: "Cart", at: t0.Add(10 * m)},
		ev{id: "a3", visitor: "a", site: "a", name: "Buy", at: t0.Add(60 * m)},
		// b: Cart 10 min + 1 ms after View: step 1 only.
		ev{id: "b1", visitor: "b", site: "b", name: "View", at: t0},
		ev{id: "b2", visitor: "b", site: "b", name: "Cart", at: t0.Add(10*m + ms)},
		// c: the first View's Cart is 55 min later; the second View's 5 min:
		// step 2 in 300 s.
		ev{id: "c1", visitor: "c", site: "c", name: "View", at: t0},
		ev{id: "c2", visitor: "c", site: "c", name: "View", at: t0.Add(50 * m)},
		ev{id: "c3", visitor: "c", site: "c", name: "Cart", at: t0.Add(55 * m)},
		// d: Buy is 59 min after the first Cart (too late) but 51 min after
		// the second: all three (greedy chains would stop at Cart). Step 2
		// in 60 s, step 3 in 3600 s.
		ev{id: "d1", visitor: "d", site: "d", name: "View", at: t0},
		ev{id: "d2", visitor: "d", site: "d", name: "Cart", at: t0.Add(1 * m)},
		ev{id: "d3", visitor: "d", site: "d", name: "Cart", at: t0.Add(9 * m)},
		ev{id: "d4", visitor: "d", site: "d", name: "Buy", at: t0.Add(60 * m)},
		// e: Buy 50 min + 1 ms after Cart (within 55m) but 1 h + 1 ms after
		// View: the conversion window stops it at step 2 (600 s).
		ev{id: "e1", visitor: "e", site: "e", name: "View", at: t0},
		ev{id: "e2", visitor: "e", site: "e", name: "Cart", at: t0.Add(10 * m)},
		ev{id: "e3", visitor: "e", site: "e", name: "Buy", at: t0.Add(60*m + ms)},
		// g: Buy exactly 55 min after Cart: all three (60 s, 3300 s).
		ev{id: "g1", visitor: "g", site: "g", name: "View", at: t0},
		ev{id: "g2", visitor: "g", site: "g", name: "Cart", at: t0.Add(1 * m)},
		ev{id: "g3", visitor: "g", site: "g", name: "Buy", at: t0.Add(56 * m)},
		// h: Buy 55 min + 1 ms after Cart: step 2 (60 s).
		ev{id: "h1", visitor: "h", site: "h", name: "View", at: t0},
		ev{id: "h2", visitor: "h", site: "h", name: "Cart", at: t0.Add(1 * m)},
		ev{id: "h3", visitor: "h", site: "h", name: "Buy", at: t0.Add(56*m + ms)},
	)
	steps := []string{"View", "Cart within 10m", "Buy within 55m"}
	run := func(t *testing.T, site, mode, by string, exclude []string, steps []string) *FunnelReport {
		t.Helper()
		r, err := FunnelBy(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30), Site: site,
			Steps: steps, Window: time.Hour, Mode: mode, Exclude: exclude}, by)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	counts := func(r *FunnelReport) [3]uint64 {
		var out [3]uint64
		for i, s := range r.Steps {
			out[i] = s.Count
		}
		return out
	}
	type visitor struct {
		site            string
		ordered, strict [3]uint64
	}
	for _, v := range []visitor{
		{"a", [3]uint64{1, 1, 1}, [3]uint64{1, 1, 1}},
		{"b", [3]uint64{1, 0, 0}, [3]uint64{1, 0, 0}},
		{"c", [3]uint64{1, 1, 0}, [3]uint64{1, 1, 0}},
		// strict: the second Cart breaks the chain at step 2.
		{"d", [3]uint64{1, 1, 1}, [3]uint64{1, 1, 0}},
		{"e", [3]uint64{1, 1, 0}, [3]uint64{1, 1, 0}},
		{"g", [3]uint64{1, 1, 1}, [3]uint64{1, 1, 1}},
		{"h", [3]uint64{1, 1, 0}, [3]uint64{1, 1, 0}},
	} {
		for _, mode := range []string{ModeOrdered, ModeStrict} {
			want := v.ordered
			if mode == ModeStrict {
				want = v.strict
			}
			t.Run(fmt.Sprintf("%s/%s", v.site, mode), func(t *testing.T) {
				if got := counts(run(t, v.site, mode, ByVisitor, nil, steps)); got != want {
					t.Errorf("counts %v, want %v", got, want)
				}
			})
		}
	}

	// All together. Ordered: step 2 times 600 (a), 300 (c), 60 (d), 600
	// (e), 60 (g), 60 (h): sorted 60 60 60 300 600 600, median (position 3)
	// 300, p90 (position 5) 600; step 3 times 3600 (a), 3600 (d), 3300
	// (g): median 3600, p90 3600.
	ordered := []FunnelStep{
		{Step: steps[0], Count: 7, ConversionFromStart: 1, ConversionFromPrevious: 1},
		{Step: steps[1], Count: 6, ConversionFromStart: 6.0 / 7, ConversionFromPrevious: 6.0 / 7, MedianSecondsToConvert: 300},
		{Step: steps[2], Count: 3, ConversionFromStart: 3.0 / 7, ConversionFromPrevious: 3.0 / 6, MedianSecondsToConvert: 3600},
	}
	for _, by := range []string{ByVisitor, ByPerson} {
		for _, exclude := range [][]string{nil, {"Never Sent"}} {
			t.Run(fmt.Sprintf("all/ordered/%s/exclude=%v", by, exclude), func(t *testing.T) {
				r := run(t, "", ModeOrdered, by, exclude, steps)
				checkFunnel(t, r, ordered)
				checkP90(t, r, []float64{0, 600, 3600})
			})
		}
	}
	// Strict: step 3 by a (3600) and g (3300): median 3600.
	t.Run("all/strict", func(t *testing.T) {
		r := run(t, "", ModeStrict, ByVisitor, nil, steps)
		checkFunnel(t, r, []FunnelStep{
			{Step: steps[0], Count: 7, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: steps[1], Count: 6, ConversionFromStart: 6.0 / 7, ConversionFromPrevious: 6.0 / 7, MedianSecondsToConvert: 300},
			{Step: steps[2], Count: 2, ConversionFromStart: 2.0 / 7, ConversionFromPrevious: 2.0 / 6, MedianSecondsToConvert: 3600},
		})
	})
	// Without per-step windows the same events go further: b and c reach
	// Cart (greedy, within the hour), h buys 55 min + 1 ms after Cart.
	t.Run("all/without", func(t *testing.T) {
		if got, want := counts(run(t, "", ModeOrdered, ByVisitor, nil, []string{"View", "Cart", "Buy"})), [3]uint64{7, 7, 4}; got != want {
			t.Errorf("counts %v, want %v", got, want)
		}
	})
	// A drop-off list sees the same chains: who reached Cart and not Buy.
	t.Run("dropoff", func(t *testing.T) {
		r, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30),
			Steps: steps, Window: time.Hour, Dropoff: 2})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range r.Dropoff.Visitors {
			got = append(got, v.VisitorID+"@"+v.StepTime.Sub(t0).String())
		}
		// by step time, then visitor id
		if want := "h@1m0s e@10m0s c@55m0s"; strings.Join(got, " ") != want {
			t.Errorf("dropped %q, want %q", strings.Join(got, " "), want)
		}
	})
}

// checkP90 compares the p90 times of a report's steps.
func checkP90(t *testing.T, r *FunnelReport, want []float64) {
	t.Helper()
	for i, s := range r.Steps {
		if s.P90SecondsToConvert == nil || !near(*s.P90SecondsToConvert, want[i]) {
			t.Errorf("step %d p90 = %v, want %v", i+1, s.P90SecondsToConvert, want[i])
		}
	}
}

func TestParseStepWindows(t *testing.T) {
	steps, err := parseSteps([]string{"View", "Cart|Wish within 10m", "Buy[note=a within 5m] within 1h30m", "Pay[k=v]", " Ship  within  2d "})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		window time.Duration
		events []string
		filter string
	}{
		{0, []string{"View"}, ""},
		{10 * time.Minute, []string{"Cart", "Wish"}, ""},
		{90 * time.Minute, nil, "a within 5m"},
		{0, nil, "v"},
		{48 * time.Hour, []string{"Ship"}, ""},
	} {
		s := steps[i]
		if s.window != want.window || strings.Join(s.events, ",") != strings.Join(want.events, ",") {
			t.Errorf("step %d = %+v, want window %s, events %v", i+1, s, want.window, want.events)
		}
		if want.filter != "" && (len(s.filters) != 1 || s.filters[0].values[0] != want.filter) {
			t.Errorf("step %d filters = %+v, want value %q", i+1, s.filters, want.filter)
		}
	}
	if steps[1].label != "Cart|Wish within 10m" {
		t.Errorf("label %q: want the step as given", steps[1].label)
	}
}

func TestFunnelStepWindowErrors(t *testing.T) {
	base := Options{From: date(2026, 11, 1), To: date(2026, 11, 30)}
	for _, tc := range []struct {
		name   string
		steps  []string
		window time.Duration
		mode   string
		want   string // in the error
		notYet bool
	}{
		{name: "step 1", steps: []string{"View within 10m", "Cart"}, want: "step 1 has none"},
		{name: "not a duration", steps: []string{"View", "Cart within ten minutes"}, want: `per-step window "ten minutes": want a duration`},
		{name: "zero", steps: []string{"View", "Cart within 0s"}, want: "want more than 0"},
		{name: "sub-millisecond", steps: []string{"View", "Cart within 1500us"}, want: "whole milliseconds"},
		{name: "no event", steps: []string{"View", "|Cart within 1m"}, want: "empty event name"},
		{name: "longer than the window", steps: []string{"View", "Cart within 2h"}, window: time.Hour, want: "longer than the conversion window 1h0m0s"},
		{name: "longer than the default window", steps: []string{"View", "Cart within 8d"}, want: "longer than the conversion window 168h0m0s"},
		{name: "mode any", steps: []string{"View", "Cart within 1h"}, mode: ModeAny, want: "mode any: per-step windows", notYet: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := base
			opts.Steps, opts.Window, opts.Mode = tc.steps, tc.window, tc.mode
			// Checked before the connection is used.
			_, err := Funnel(t.Context(), nil, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
			if errors.Is(err, ErrNotSupported) != tc.notYet {
				t.Errorf("err = %v, ErrNotSupported %v", err, tc.notYet)
			}
		})
	}
}

// A funnel without per-step windows renders without them: greedy chains,
// and its first chain is not checked step by step; with them, the chains
// are the reachable sets and the first chain's gaps are checked.
func TestFunnelSQLStepWindowVariant(t *testing.T) {
	plain, err := funnelVariant{}.render(3)
	if err != nil {
		t.Fatal(err)
	}
	windows, err := funnelVariant{stepWindows: true}.render(3)
	if err != nil {
		t.Fatal(err)
	}
	const greedy, gaps = "[s]),", "first_chain[j] - first_chain[j - 1] <= {step_window_ms:Array(Int64)}[j]"
	if strings.Contains(plain, "step_window_ms:Array(Int64)}[j]") || !strings.Contains(plain, greedy) {
		t.Errorf("the plain funnel pays for per-step windows:\n%s", plain)
	}
	if !strings.Contains(windows, "step_window_ms:Array(Int64)}[j]") || strings.Contains(windows, greedy) || !strings.Contains(windows, gaps) {
		t.Errorf("the per-step window variant does not use them:\n%s", windows)
	}
}
