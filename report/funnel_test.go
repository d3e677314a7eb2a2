package report

import (
	"errors"
	"testing"
	"time"
)

const day = 24 * time.Hour

// checkFunnel compares a funnel report with the expected steps.
func checkFunnel(t *testing.T, got *FunnelReport, want []FunnelStep) {
	t.Helper()
	if len(got.Steps) != len(want) {
		t.Fatalf("got %d steps %+v, want %d", len(got.Steps), got.Steps, len(want))
	}
	for i, w := range want {
		g := got.Steps[i]
		if g.Step != w.Step || g.Count != w.Count || !near(g.ConversionFromStart, w.ConversionFromStart) ||
			!near(g.ConversionFromPrevious, w.ConversionFromPrevious) || !near(g.MedianSecondsToConvert, w.MedianSecondsToConvert) {
			t.Errorf("step %d = %+v, want %+v", i+1, g, w)
		}
	}
}

func TestFunnel(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	insertEvents(t, conn,
		// v1 does all three: Cart after 60 s, Buy after 180 s.
		ev{id: "v1-1", visitor: "v1", name: "View", at: t0},
		ev{id: "v1-2", visitor: "v1", name: "Cart", at: t0.Add(60 * time.Second)},
		ev{id: "v1-3", visitor: "v1", name: "Buy", at: t0.Add(180 * time.Second)},
		// v2 buys 1 s after the 7-day window: stops at Cart (120 s).
		ev{id: "v2-1", visitor: "v2", name: "View", at: t0},
		ev{id: "v2-2", visitor: "v2", name: "Cart", at: t0.Add(120 * time.Second)},
		ev{id: "v2-3", visitor: "v2", name: "Buy", at: t0.Add(7*day + time.Second)},
		// v3 does the steps out of order: Buy, Cart, then View: step 1 only.
		ev{id: "v3-1", visitor: "v3", name: "Buy", at: t0},
		ev{id: "v3-2", visitor: "v3", name: "Cart", at: t0.Add(5 * time.Second)},
		ev{id: "v3-3", visitor: "v3", name: "View", at: t0.Add(10 * time.Second)},
		// v4 buys exactly 7 days after the View: the window is inclusive.
		// Other events between the steps do not matter (mode ordered).
		ev{id: "v4-1", visitor: "v4", name: "View", at: t0},
		ev{id: "v4-x", visitor: "v4", name: "Other", at: t0.Add(10 * time.Second)},
		ev{id: "v4-2", visitor: "v4", name: "Cart", at: t0.Add(30 * time.Second)},
		ev{id: "v4-3", visitor: "v4", name: "Buy", at: t0.Add(7 * day)},
		// v5: the first View's Cart is outside its window; a later View
		// reaches Cart in 300 s, and that is the time to convert.
		ev{id: "v5-1", visitor: "v5", name: "View", at: t0},
		ev{id: "v5-2", visitor: "v5", name: "Cart", at: t0.Add(8 * day)},
		ev{id: "v5-3", visitor: "v5", name: "View", at: t0.Add(9 * day)},
		ev{id: "v5-4", visitor: "v5", name: "Cart", at: t0.Add(9*day + 300*time.Second)},
		// v6 reaches Cart after 90 s; its Cart row arrives twice.
		ev{id: "v6-1", visitor: "v6", name: "View", at: t0},
		ev{id: "v6-2", visitor: "v6", name: "Cart", at: t0.Add(90 * time.Second)},
		// v7 did everything before --from; v8 starts exactly at --to: neither counts.
		ev{id: "v7-1", visitor: "v7", name: "View", at: from.Add(-time.Hour)},
		ev{id: "v7-2", visitor: "v7", name: "Cart", at: from.Add(-time.Minute)},
		ev{id: "v8-1", visitor: "v8", name: "View", at: to},
		// v9 views 1 ms before --to: step 1.
		ev{id: "v9-1", visitor: "v9", name: "View", at: to.Add(-time.Millisecond)},
	)
	// The redelivered Cart of v6, a separate insert with a later inserted_at.
	insertEvents(t, conn, ev{id: "v6-2", visitor: "v6", name: "Cart", at: t0.Add(90 * time.Second), insertedAt: time.Now().Add(time.Second)})

	got, err := Funnel(t.Context(), conn, Options{From: from, To: to, Steps: []string{"View", "Cart", "Buy"}})
	if err != nil {
		t.Fatal(err)
	}
	// Step 1: v1..v6, v9 = 7. Step 2: v1, v2, v4, v5, v6 = 5. Step 3: v1, v4 = 2.
	// Seconds to Cart: 60, 120, 30, 300, 90 -> sorted 30 60 90 120 300,
	// quantileExact(0.5) takes index floor(5*0.5) = 2: 90.
	// Seconds to Buy: 180, 604800 -> index floor(2*0.5) = 1: 604800.
	checkFunnel(t, got, []FunnelStep{
		{Step: "View", Count: 7, ConversionFromStart: 1, ConversionFromPrevious: 1, MedianSecondsToConvert: 0},
		{Step: "Cart", Count: 5, ConversionFromStart: 5.0 / 7, ConversionFromPrevious: 5.0 / 7, MedianSecondsToConvert: 90},
		{Step: "Buy", Count: 2, ConversionFromStart: 2.0 / 7, ConversionFromPrevious: 2.0 / 5, MedianSecondsToConvert: 604800},
	})

	t.Run("window", func(t *testing.T) {
		// A one-hour window: v4's and v2's Carts still count (30 s, 120 s),
		// no Buy does except v1's; v5's second View reaches Cart in 300 s.
		got, err := Funnel(t.Context(), conn, Options{From: from, To: to, Steps: []string{"View", "Cart", "Buy"}, Window: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		checkFunnel(t, got, []FunnelStep{
			{Step: "View", Count: 7, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: "Cart", Count: 5, ConversionFromStart: 5.0 / 7, ConversionFromPrevious: 5.0 / 7, MedianSecondsToConvert: 90},
			{Step: "Buy", Count: 1, ConversionFromStart: 1.0 / 7, ConversionFromPrevious: 1.0 / 5, MedianSecondsToConvert: 180},
		})
	})

	t.Run("range", func(t *testing.T) {
		// Only v7's events: it reaches Cart in 59 minutes.
		got, err := Funnel(t.Context(), conn, Options{From: from.Add(-day), To: from, Steps: []string{"View", "Cart"}})
		if err != nil {
			t.Fatal(err)
		}
		checkFunnel(t, got, []FunnelStep{
			{Step: "View", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: "Cart", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1, MedianSecondsToConvert: 59 * 60},
		})
	})

	t.Run("alternatives", func(t *testing.T) {
		// "Cart|Other": v4's Other (10 s) comes before its Cart.
		got, err := Funnel(t.Context(), conn, Options{From: from, To: to, Steps: []string{"View", "Other | Cart"}})
		if err != nil {
			t.Fatal(err)
		}
		// 60, 120, 10, 300, 90 -> 10 60 90 120 300: 90.
		checkFunnel(t, got, []FunnelStep{
			{Step: "View", Count: 7, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: "Other | Cart", Count: 5, ConversionFromStart: 5.0 / 7, ConversionFromPrevious: 5.0 / 7, MedianSecondsToConvert: 90},
		})
	})

	t.Run("nobody", func(t *testing.T) {
		// Every step is reported, with zeros, when nobody starts.
		got, err := Funnel(t.Context(), conn, Options{From: from, To: to, Steps: []string{"Nothing", "View"}})
		if err != nil {
			t.Fatal(err)
		}
		checkFunnel(t, got, []FunnelStep{{Step: "Nothing"}, {Step: "View"}})
	})
}

func TestFunnelReplacedEvent(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	insertEvents(t, conn,
		ev{id: "a", visitor: "v", name: "View", at: t0},
		ev{id: "b", visitor: "v", name: "Buy", at: t0.Add(time.Hour)},
	)
	// The same event again with a corrected time, an hour before the View
	// on the same day (the deduplication key is the day, visitor_id and
	// message_id): the newer row replaces the older (events FINAL), so the
	// Buy no longer follows the View.
	insertEvents(t, conn, ev{id: "b", visitor: "v", name: "Buy", at: t0.Add(-time.Hour), insertedAt: time.Now().Add(time.Minute)})
	got, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30), Steps: []string{"View", "Buy"}})
	if err != nil {
		t.Fatal(err)
	}
	checkFunnel(t, got, []FunnelStep{
		{Step: "View", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1},
		{Step: "Buy", Count: 0},
	})
}

func TestFunnelStepNamesAreLiterals(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	evil := "x' OR 1=1 --"
	insertEvents(t, conn,
		ev{id: "1", visitor: "a", name: "View", at: t0},
		ev{id: "2", visitor: "b", name: "View", at: t0},
		ev{id: "3", visitor: "b", name: evil, at: t0.Add(time.Second)},
		ev{id: "4", visitor: "c", name: `{step_0:String}`, at: t0},
		ev{id: "5", visitor: "c", name: `a\b`, at: t0.Add(time.Second)},
	)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 30)}
	for _, tc := range []struct {
		steps []string
		want  []FunnelStep
	}{
		{[]string{evil}, []FunnelStep{{Step: evil, Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1}}},
		{[]string{"View", evil}, []FunnelStep{
			{Step: "View", Count: 2, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: evil, Count: 1, ConversionFromStart: 0.5, ConversionFromPrevious: 0.5, MedianSecondsToConvert: 1},
		}},
		{[]string{"x' OR '1'='1"}, []FunnelStep{{Step: "x' OR '1'='1"}}},
		{[]string{`{step_0:String}`, `a\b`}, []FunnelStep{
			{Step: `{step_0:String}`, Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: `a\b`, Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1, MedianSecondsToConvert: 1},
		}},
	} {
		opts.Steps = tc.steps
		got, err := Funnel(t.Context(), conn, opts)
		if err != nil {
			t.Fatalf("%q: %v", tc.steps, err)
		}
		checkFunnel(t, got, tc.want)
	}
}

func TestFunnelOptions(t *testing.T) {
	from, to := date(2026, 11, 1), date(2026, 11, 30)
	many := make([]string, 33)
	for i := range many {
		many[i] = "E"
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		notYet  bool
		wantErr bool
	}{
		{name: "no steps", opts: Options{From: from, To: to}, wantErr: true},
		{name: "empty step", opts: Options{From: from, To: to, Steps: []string{"A", " "}}, wantErr: true},
		{name: "empty alternative", opts: Options{From: from, To: to, Steps: []string{"A|"}}, wantErr: true},
		{name: "33 steps", opts: Options{From: from, To: to, Steps: many}, wantErr: true},
		{name: "page step without a path", opts: Options{From: from, To: to, Steps: []string{"page:pricing"}}, wantErr: true},
		{name: "bad mode", opts: Options{From: from, To: to, Steps: []string{"A"}, Mode: "loose"}, wantErr: true},
		{name: "no range", opts: Options{Steps: []string{"A"}}, wantErr: true},
		{name: "backwards range", opts: Options{From: to, To: from, Steps: []string{"A"}}, wantErr: true},
		{name: "negative window", opts: Options{From: from, To: to, Steps: []string{"A"}, Window: -time.Hour}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The options are checked before the connection is used.
			_, err := Funnel(t.Context(), nil, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNotSupported) != tc.notYet {
				t.Errorf("err = %v, ErrNotSupported %v", err, tc.notYet)
			}
		})
	}
}

func TestFunnelSecondsToConvert(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	// One visitor per site, so that --site picks one visitor out.
	insertEvents(t, conn,
		// The first View's Cart is past its window; the second View's is not:
		// time from the earliest View that converts, 300 s.
		ev{id: "1", visitor: "a", site: "a", name: "View", at: t0},
		ev{id: "2", visitor: "a", site: "a", name: "Cart", at: t0.Add(8 * day)},
		ev{id: "3", visitor: "a", site: "a", name: "View", at: t0.Add(9 * day)},
		ev{id: "4", visitor: "a", site: "a", name: "Cart", at: t0.Add(9*day + 300*time.Second)},
		// Two Views, then a Cart: from the earlier View, 70 s.
		ev{id: "5", visitor: "b", site: "b", name: "View", at: t0},
		ev{id: "6", visitor: "b", site: "b", name: "View", at: t0.Add(10 * time.Second)},
		ev{id: "7", visitor: "b", site: "b", name: "Cart", at: t0.Add(70 * time.Second)},
		// Two Carts: the first one after the View counts, 50 s; the Buy
		// follows the first Cart after 10 s: 60 s from the View.
		ev{id: "8", visitor: "c", site: "c", name: "View", at: t0},
		ev{id: "9", visitor: "c", site: "c", name: "Cart", at: t0.Add(50 * time.Second)},
		ev{id: "10", visitor: "c", site: "c", name: "Buy", at: t0.Add(60 * time.Second)},
		ev{id: "11", visitor: "c", site: "c", name: "Cart", at: t0.Add(100 * time.Second)},
		// A Cart and a View at the same millisecond: ordered allows it (0 s).
		ev{id: "12", visitor: "d", site: "d", name: "View", at: t0},
		ev{id: "13", visitor: "d", site: "d", name: "Cart", at: t0},
	)
	for _, tc := range []struct {
		site       string
		cart, buy  float64
		reachedBuy bool
	}{
		{site: "a", cart: 300},
		{site: "b", cart: 70},
		{site: "c", cart: 50, buy: 60, reachedBuy: true},
		{site: "d", cart: 0},
	} {
		t.Run(tc.site, func(t *testing.T) {
			got, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 30), Site: tc.site,
				Steps: []string{"View", "Cart", "Buy"}})
			if err != nil {
				t.Fatal(err)
			}
			want := []FunnelStep{
				{Step: "View", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1},
				{Step: "Cart", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1, MedianSecondsToConvert: tc.cart},
				{Step: "Buy"},
			}
			if tc.reachedBuy {
				want[2] = FunnelStep{Step: "Buy", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1, MedianSecondsToConvert: tc.buy}
			}
			checkFunnel(t, got, want)
		})
	}
}
