package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFunnelFirstChain: funnel.sql takes a visitor's level and times from
// its first chain (from its earliest step-1 event) when that chain gets
// through its last step within the window, and from the chains of every
// step-1 event otherwise. Visitors on both sides of that line, with the
// answers computed by hand from the header's definitions.
func TestFunnelFirstChain(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m, ms := time.Minute, time.Millisecond
	// Steps A, B, C; window 1h; exclusion step X where said.
	insertEvents(t, conn,
		// p: C exactly 1 h after A: the first chain reaches C in the
		// window; B in 1800 s, C in 3600 s.
		ev{id: "p1", visitor: "p", site: "p", name: "A", at: t0},
		ev{id: "p2", visitor: "p", site: "p", name: "B", at: t0.Add(30 * m)},
		ev{id: "p3", visitor: "p", site: "p", name: "C", at: t0.Add(60 * m)},
		// q: C 1 h + 1 ms after the first A, and the second A has no B
		// after it: steps A and B (1800 s) only.
		ev{id: "q1", visitor: "q", site: "q", name: "A", at: t0},
		ev{id: "q2", visitor: "q", site: "q", name: "B", at: t0.Add(30 * m)},
		ev{id: "q3", visitor: "q", site: "q", name: "A", at: t0.Add(40 * m)},
		ev{id: "q4", visitor: "q", site: "q", name: "C", at: t0.Add(60*m + ms)},
		// r: the first chain (A 0, B 10, C 70 min) is too long; the one from
		// the second A (A 20, B 30, C 70 min) is not: all three, B in 600 s
		// (the first chain), C in 3000 s (the second).
		ev{id: "r1", visitor: "r", site: "r", name: "A", at: t0},
		ev{id: "r2", visitor: "r", site: "r", name: "B", at: t0.Add(10 * m)},
		ev{id: "r3", visitor: "r", site: "r", name: "A", at: t0.Add(20 * m)},
		ev{id: "r4", visitor: "r", site: "r", name: "B", at: t0.Add(30 * m)},
		ev{id: "r5", visitor: "r", site: "r", name: "C", at: t0.Add(70 * m)},
		// u: A only.
		ev{id: "u1", visitor: "u", site: "u", name: "A", at: t0},
		// s: no A: counted nowhere.
		ev{id: "s1", visitor: "s", site: "s", name: "B", at: t0},
		ev{id: "s2", visitor: "s", site: "s", name: "C", at: t0.Add(m)},
		// v: X between the first A and its B; the second A's chain has
		// none (X at the same millisecond as its A does not count).
		// Without exclusions B in 600 s and C in 1500 s from the first A;
		// excluding X, B in 300 s and C in 600 s from the second.
		ev{id: "v1", visitor: "v", site: "v", name: "A", at: t0},
		ev{id: "v2", visitor: "v", site: "v", name: "X", at: t0.Add(5 * m)},
		ev{id: "v3", visitor: "v", site: "v", name: "B", at: t0.Add(10 * m)},
		ev{id: "v4", visitor: "v", site: "v", name: "A", at: t0.Add(15 * m)},
		ev{id: "v5", visitor: "v", site: "v", name: "X", at: t0.Add(15 * m)},
		ev{id: "v6", visitor: "v", site: "v", name: "B", at: t0.Add(20 * m)},
		ev{id: "v7", visitor: "v", site: "v", name: "C", at: t0.Add(25 * m)},
	)
	steps := []string{"A", "B", "C"}
	run := func(t *testing.T, site string, exclude []string, dropoff int) *FunnelReport {
		t.Helper()
		r, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30), Site: site,
			Steps: steps, Window: time.Hour, Exclude: exclude, Dropoff: dropoff})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		site    string
		exclude []string
		counts  [3]uint64
		secs    [3]float64 // the one visitor's times: median and p90 alike
	}{
		{"p", nil, [3]uint64{1, 1, 1}, [3]float64{0, 1800, 3600}},
		{"q", nil, [3]uint64{1, 1, 0}, [3]float64{0, 1800, 0}},
		{"r", nil, [3]uint64{1, 1, 1}, [3]float64{0, 600, 3000}},
		{"u", nil, [3]uint64{1, 0, 0}, [3]float64{0, 0, 0}},
		{"s", nil, [3]uint64{0, 0, 0}, [3]float64{0, 0, 0}},
		{"v", nil, [3]uint64{1, 1, 1}, [3]float64{0, 600, 1500}},
		{"v", []string{"X"}, [3]uint64{1, 1, 1}, [3]float64{0, 300, 600}},
		// X is in no chain of r: the same answer as without.
		{"r", []string{"X"}, [3]uint64{1, 1, 1}, [3]float64{0, 600, 3000}},
	} {
		t.Run(fmt.Sprintf("%s/exclude=%v", tc.site, tc.exclude), func(t *testing.T) {
			r := run(t, tc.site, tc.exclude, 0)
			for i, s := range r.Steps {
				p90 := -1.0 // missing
				if s.P90SecondsToConvert != nil {
					p90 = *s.P90SecondsToConvert
				}
				if s.Count != tc.counts[i] || s.MedianSecondsToConvert != tc.secs[i] || p90 != tc.secs[i] {
					t.Errorf("step %d: count %d, median %v, p90 %v; want %d, %v, %v", i+1, s.Count, s.MedianSecondsToConvert, p90, tc.counts[i], tc.secs[i], tc.secs[i])
				}
			}
		})
	}
	// All together: step 1 by p q r u v (5), step 2 by p q r v (4; times
	// 1800 1800 600 600: sorted 600 600 1800 1800, median position 2 1800,
	// p90 position 3 1800), step 3 by p r v (3; 3600 3000 1500: median
	// position 1 3000, p90 position 2 3600).
	t.Run("all", func(t *testing.T) {
		r := run(t, "", nil, 0)
		checkFunnel(t, r, []FunnelStep{
			{Step: "A", Count: 5, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: "B", Count: 4, ConversionFromStart: 0.8, ConversionFromPrevious: 0.8, MedianSecondsToConvert: 1800},
			{Step: "C", Count: 3, ConversionFromStart: 0.6, ConversionFromPrevious: 0.75, MedianSecondsToConvert: 3000},
		})
		checkP90(t, r, []float64{0, 1800, 3600})
	})
	// Who reached B and not C: q, at its B (30 min); with X excluded
	// nobody more (v converts from its second A).
	for _, exclude := range [][]string{nil, {"X"}} {
		t.Run(fmt.Sprintf("dropoff/exclude=%v", exclude), func(t *testing.T) {
			r := run(t, "", exclude, 2)
			var got []string
			for _, v := range r.Dropoff.Visitors {
				got = append(got, v.VisitorID+"@"+v.StepTime.Sub(t0).String())
			}
			if want := "q@30m0s"; strings.Join(got, " ") != want {
				t.Errorf("dropped %q, want %q", strings.Join(got, " "), want)
			}
		})
	}
}
