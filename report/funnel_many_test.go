package report

import (
	"fmt"
	"testing"
	"time"
)

// TestFunnelManySteps: funnel.sql packs a visitor's step events into UInt64
// keys up to 20 steps and UInt128 keys past them. Both sides of that line,
// with a visitor on the slow path (its first chain overruns the window),
// against answers computed by hand.
func TestFunnelManySteps(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	step := func(k int) string { return fmt.Sprintf("S%02d", k) }
	var rows []ev
	// a: S01 ... S22, a minute apart: every step, step k after (k-1) min.
	for k := 1; k <= 22; k++ {
		rows = append(rows, ev{id: fmt.Sprintf("a%d", k), visitor: "a", name: step(k), at: t0.Add(time.Duration(k-1) * m)})
	}
	// b: S01 ... S10 the same way, then nothing.
	for k := 1; k <= 10; k++ {
		rows = append(rows, ev{id: fmt.Sprintf("b%d", k), visitor: "b", name: step(k), at: t0.Add(time.Duration(k-1) * m)})
	}
	rows = append(rows,
		// c: S02 70 min after its first S01, past the 1 h window, but 20
		// min after its second: steps 1 and 2, step 2 in 1200 s (the
		// chain from the second S01, the earliest that gets there).
		ev{id: "c1", visitor: "c", name: step(1), at: t0},
		ev{id: "c2", visitor: "c", name: step(1), at: t0.Add(50 * m)},
		ev{id: "c3", visitor: "c", name: step(2), at: t0.Add(70 * m)},
		// d: S02 before its only S01: step 1 only.
		ev{id: "d1", visitor: "d", name: step(2), at: t0},
		ev{id: "d2", visitor: "d", name: step(1), at: t0.Add(5 * m)},
	)
	insertEvents(t, conn, rows...)

	for _, n := range []int{20, 22} {
		t.Run(fmt.Sprintf("%d steps", n), func(t *testing.T) {
			steps := make([]string, n)
			for k := range steps {
				steps[k] = step(k + 1)
			}
			r, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30),
				Steps: steps, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Steps) != n {
				t.Fatalf("%d steps, want %d", len(r.Steps), n)
			}
			for i, s := range r.Steps {
				k := i + 1
				// Who reached step k, and their times to convert (s).
				var count uint64
				var median, p90 float64
				switch {
				case k == 1: // a b c d
					count = 4
				case k == 2: // a b c: 60 60 1200, positions 1 and 2
					count, median, p90 = 3, 60, 1200
				case k <= 10: // a b, both (k-1) min
					count, median, p90 = 2, float64(60*(k-1)), float64(60*(k-1))
				default: // a
					count, median, p90 = 1, float64(60*(k-1)), float64(60*(k-1))
				}
				got := -1.0
				if s.P90SecondsToConvert != nil {
					got = *s.P90SecondsToConvert
				}
				if s.Step != step(k) || s.Count != count || s.MedianSecondsToConvert != median || got != p90 {
					t.Errorf("step %d: %s count %d, median %v, p90 %v; want %s %d, %v, %v",
						k, s.Step, s.Count, s.MedianSecondsToConvert, got, step(k), count, median, p90)
				}
			}
		})
	}
}
