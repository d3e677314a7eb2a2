package report

import (
	"fmt"
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
