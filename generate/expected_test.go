package generate

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// ev builds a hand-made event: a page view when name starts with "/"
// (the path), else a track event; props are key, value pairs.
func ev(visitor string, at time.Duration, name string, props ...any) Event {
	e := Event{Type: pipeline.TypeTrack, Name: name, Time: t0.Add(at), AnonymousID: visitor, Properties: map[string]any{}}
	if len(name) > 0 && name[0] == '/' {
		e.Type, e.Name = pipeline.TypePage, "Page"
		e.Page = Page{URL: site + name, Path: name}
	}
	for i := 0; i+1 < len(props); i += 2 {
		e.Properties[props[i].(string)] = props[i+1]
	}
	return e
}

const day = 24 * time.Hour

func TestExpectedGenerated(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		w := testWorld(t, 500, seed)
		x := w.Expected(nil, 0, 0)
		byType := x.EventsByType
		// Each click on an email or SMS link is by a visitor of its own.
		clickers := 0
		for _, e := range w.Events() {
			if e.Via == ViaRedirect {
				clickers++
			}
		}
		if clickers == 0 || x.Visitors != 500+clickers || x.Events != len(w.Events()) || x.Orders == 0 || x.Revenue <= 0 ||
			byType["page"]+byType["track"]+byType["identify"] != x.Events || byType["identify"] == 0 {
			t.Fatalf("seed %d: totals %+v", seed, x)
		}
		prev := math.MaxInt
		for _, s := range x.Funnel.Steps {
			if s.Count <= 0 || s.Count > prev {
				t.Fatalf("seed %d: funnel %+v: counts must be positive and non-increasing", seed, x.Funnel.Steps)
			}
			prev = s.Count
		}
		cart, checkout := x.Abandonment.Cart, x.Abandonment.Checkout
		for name, a := range map[string]abandonmentCount{
			"cart":     {cart.Carts, cart.Abandoned, cart.Recovered},
			"checkout": {checkout.Checkouts, checkout.Abandoned, checkout.Recovered},
		} {
			if !(a.total > a.abandoned && a.abandoned > a.recovered && a.recovered > 0) {
				t.Fatalf("seed %d: %s abandonment %+v: want total > abandoned > recovered > 0", seed, name, a)
			}
		}
		tos := x.TimeOnSite
		if tos.Sessions != len(w.Sessions()) || tos.BounceRate <= 0.1 || tos.BounceRate >= 0.6 ||
			math.Abs(tos.BounceRate+tos.EngagementRate-1) > 1e-12 ||
			!(tos.DurationSeconds.Median > 0 && tos.DurationSeconds.P90 > tos.DurationSeconds.Median) {
			t.Fatalf("seed %d: time on site %+v", seed, tos)
		}

		// Carts ordered in a later session both within and after 24 h.
		var within, after int
		firstAdd := map[string]time.Time{}
		for _, e := range w.Events() {
			if e.IsTrack(pipeline.EventProductAdded) {
				if _, ok := firstAdd[e.CartID()]; !ok {
					firstAdd[e.CartID()] = e.Time
				}
			}
			if e.IsTrack(pipeline.EventOrderCompleted) {
				switch d := e.Time.Sub(firstAdd[e.CartID()]); {
				case d > 24*time.Hour:
					after++
				case d > 2*time.Hour:
					within++
				}
			}
		}
		if within == 0 || after == 0 {
			t.Fatalf("seed %d: carts recovered within 24 h: %d, after: %d; want both", seed, within, after)
		}

		// The generator never lets "an order by the same visitor" and "an
		// order of this cart" disagree, so either reading of DESIGN.md gives
		// these answers.
		if got := anyOrderAbandonment(w, pipeline.EventProductAdded, 24*time.Hour); got != (abandonmentCount{x.Abandonment.Cart.Carts, x.Abandonment.Cart.Abandoned, x.Abandonment.Cart.Recovered}) {
			t.Fatalf("seed %d: cart abandonment by any order %+v, by cart %+v", seed, got, x.Abandonment.Cart)
		}
		if got := anyOrderAbandonment(w, pipeline.EventCheckoutStarted, 24*time.Hour); got != (abandonmentCount{x.Abandonment.Checkout.Checkouts, x.Abandonment.Checkout.Abandoned, x.Abandonment.Checkout.Recovered}) {
			t.Fatalf("seed %d: checkout abandonment by any order %+v, by cart %+v", seed, got, x.Abandonment.Checkout)
		}
	}
}

// anyOrderAbandonment counts abandonment reading "an Order Completed by the
// same visitor" as any order of the visitor, whatever its cart.
func anyOrderAbandonment(w *World, start string, within time.Duration) abandonmentCount {
	type key struct{ visitor, cart string }
	first := map[key]time.Time{}
	var keys []key
	orders := map[string][]time.Time{}
	for _, e := range w.Events() {
		if e.IsTrack(start) {
			k := key{e.AnonymousID, e.CartID()}
			if _, ok := first[k]; !ok {
				first[k] = e.Time
				keys = append(keys, k)
			}
		}
		if e.IsTrack(pipeline.EventOrderCompleted) {
			orders[e.AnonymousID] = append(orders[e.AnonymousID], e.Time)
		}
	}
	var n abandonmentCount
	for _, k := range keys {
		n.total++
		inTime, later := false, false
		for _, o := range orders[k.visitor] {
			if d := o.Sub(first[k]); d >= 0 && d <= within {
				inTime = true
			} else if d > within {
				later = true
			}
		}
		if !inTime {
			n.abandoned++
			if later {
				n.recovered++
			}
		}
	}
	return n
}

func TestWindowFunnelLevel(t *testing.T) {
	h := func(d time.Duration) int64 { return d.Milliseconds() }
	for _, tc := range []struct {
		name   string
		evs    []stepEvent
		steps  int
		window time.Duration
		want   int
	}{
		{"none", nil, 3, day, 0},
		{"single step", []stepEvent{{h(5 * day), 1}}, 1, day, 1},
		{"in order", []stepEvent{{0, 1}, {h(time.Hour), 2}, {h(2 * time.Hour), 3}}, 3, day, 3},
		{"last step outside window", []stepEvent{{0, 1}, {h(time.Hour), 2}, {h(day + time.Millisecond), 3}}, 3, day, 2},
		{"last step at the window's end", []stepEvent{{0, 1}, {h(time.Hour), 2}, {h(day), 3}}, 3, day, 3},
		{"step 2 before step 1", []stepEvent{{0, 2}, {h(time.Hour), 1}, {h(2 * time.Hour), 3}}, 3, day, 1},
		{"no step 1", []stepEvent{{0, 2}, {h(time.Hour), 3}}, 3, day, 0},
		{"same time: step order", []stepEvent{{0, 2}, {0, 1}}, 2, day, 2},
		{"later step 1 restarts the window", []stepEvent{{0, 1}, {h(3 * day), 1}, {h(9 * day), 2}}, 2, 7 * day, 2},
		// The chain that reached step 2 keeps its own step-1 time: a later
		// step 1 does not move it.
		{"chain keeps its start", []stepEvent{{0, 1}, {h(time.Hour), 2}, {h(8 * day), 1}, {h(8*day + time.Hour), 3}}, 3, 7 * day, 2},
		{"skipped step", []stepEvent{{0, 1}, {h(time.Hour), 3}}, 3, day, 1},
		{"repeated steps", []stepEvent{{0, 1}, {h(time.Hour), 2}, {h(2 * time.Hour), 2}, {h(3 * time.Hour), 1}, {h(4 * time.Hour), 3}}, 3, day, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := windowFunnelLevel(tc.evs, tc.steps, tc.window); got != tc.want {
				t.Fatalf("level %d, want %d", got, tc.want)
			}
		})
	}
}

func TestExpectedFunnelHandBuilt(t *testing.T) {
	w := FromEvents([]Event{
		// a: all three steps, with other events between them.
		ev("a", 0, "/"), ev("a", time.Minute, "A"), ev("a", 2*time.Minute, "X"), ev("a", 3*time.Minute, "B"), ev("a", 3*day, "C"),
		// b: B then A then C: reaches step 1 only.
		ev("b", 0, "B"), ev("b", time.Minute, "A"), ev("b", 2*time.Minute, "C"),
		// c: C outside the 7-day window.
		ev("c", 0, "A"), ev("c", time.Hour, "B"), ev("c", 7*day+time.Second, "C"),
		// d: the second A starts a window that B and C fit in.
		ev("d", 0, "A"), ev("d", 5*day, "A"), ev("d", 11*day, "B"), ev("d", 11*day+time.Hour, "C"),
		// e: never starts.
		ev("e", 0, "B"), ev("e", time.Hour, "C"),
	})
	x := w.Expected([]string{"A", "B", "C"}, 7*day, day)
	want := []FunnelStep{
		{"A", 4, 1, 1},
		{"B", 3, 0.75, 0.75},
		{"C", 2, 0.5, 2.0 / 3},
	}
	for i, s := range x.Funnel.Steps {
		if s != want[i] {
			t.Errorf("step %d: %+v, want %+v", i+1, s, want[i])
		}
	}
	if x.Visitors != 5 {
		t.Errorf("visitors %d, want 5", x.Visitors)
	}

	// Alternatives and page patterns; one event may be two steps.
	w = FromEvents([]Event{
		ev("a", 0, "/blog/2026/post"), ev("a", time.Minute, "/products/sku-1"), ev("a", 2*time.Minute, "Signed Up"),
		ev("b", 0, "/products/sku-2"), ev("b", time.Minute, "Trial Started"),
		ev("c", 0, "Trial Started"), ev("c", time.Minute, "/products/x"),
		ev("d", 0, "Order Completed"),
	})
	x = w.Expected([]string{"page:/blog/*|page:/products/*", "page:/products/*|Order Completed", "Signed Up|Trial Started"}, day, day)
	got := []int{x.Funnel.Steps[0].Count, x.Funnel.Steps[1].Count, x.Funnel.Steps[2].Count}
	// a: blog (1), product (1 and 2), sign-up (3). b: product (1 and 2),
	// trial (3). c: trial comes first, product page (1 and 2). d: step 2 only.
	if want := []int{3, 3, 2}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("counts %v, want %v", got, want)
	}

	// An empty funnel divides by nothing.
	x = FromEvents(nil).Expected([]string{"A", "B"}, day, day)
	for _, s := range x.Funnel.Steps {
		if s.Count != 0 || s.ConversionFromStart != 0 || s.ConversionFromPrevious != 0 {
			t.Errorf("empty world: %+v", s)
		}
	}
}

func TestExpectedAbandonmentBoundary(t *testing.T) {
	add := func(v string, at time.Duration, cart string) Event {
		return ev(v, at, pipeline.EventProductAdded, "cart_id", cart)
	}
	checkout := func(v string, at time.Duration, cart string) Event {
		return ev(v, at, pipeline.EventCheckoutStarted, "cart_id", cart)
	}
	order := func(v string, at time.Duration, cart string) Event {
		return ev(v, at, pipeline.EventOrderCompleted, "cart_id", cart, "revenue", 10.0)
	}
	w := FromEvents([]Event{
		// exactly 24 h: in time, not abandoned.
		add("a", 0, "c1"), order("a", day, "c1"),
		// 1 ms after 24 h: abandoned, recovered.
		add("b", 0, "c2"), order("b", day+time.Millisecond, "c2"),
		// never ordered: abandoned.
		add("c", 0, "c3"),
		// the first Product Added counts: a second add does not restart the clock.
		add("d", 0, "c4"), add("d", 20*time.Hour, "c4"), order("d", 30*time.Hour, "c4"),
		// an order of another cart does not count; the order before the add neither.
		order("e", 0, "c5"), add("e", time.Hour, "c5"), add("e", 2*time.Hour, "c6"), order("e", 3*time.Hour, "c6"),
		// the same cart id of another visitor is another cart.
		add("f", 0, "c1"),
		// checkout: started 23 h after the add, ordered 2 h later.
		add("g", 0, "c7"), checkout("g", 23*time.Hour, "c7"), order("g", 25*time.Hour, "c7"),
		checkout("h", 0, "c8"), checkout("h", time.Hour, "c8"), order("h", day+30*time.Minute, "c8"),
	})
	x := w.Expected(nil, 0, day).Abandonment
	// carts: c1(a) ok, c2 abandoned+recovered, c3 abandoned, c4 abandoned+recovered,
	// c5 abandoned, c6 ok, c1(f) abandoned, c7 abandoned+recovered.
	if want := (Cart{Carts: 8, Abandoned: 6, Recovered: 3, AbandonmentRate: 6.0 / 8}); x.Cart != want {
		t.Errorf("cart %+v, want %+v", x.Cart, want)
	}
	// checkouts: c7 ok (2 h), c8 abandoned+recovered (from its first start).
	if want := (Checkout{Checkouts: 2, Abandoned: 1, Recovered: 1, AbandonmentRate: 0.5}); x.Checkout != want {
		t.Errorf("checkout %+v, want %+v", x.Checkout, want)
	}
	if x.WithinSeconds != 86400 {
		t.Errorf("within %v s", x.WithinSeconds)
	}
	// A longer window turns the recoveries into orders in time.
	if c := w.Expected(nil, 0, 2*day).Abandonment.Cart; c.Abandoned != 3 || c.Recovered != 0 {
		t.Errorf("48 h: %+v", c)
	}
	// Without a cart_id a cart is its session, and any order of the visitor counts.
	w = FromEvents([]Event{
		ev("a", 0, pipeline.EventProductAdded), ev("a", time.Minute, pipeline.EventProductAdded), ev("a", 2*time.Hour, pipeline.EventOrderCompleted, "cart_id", "zz"),
		ev("b", 0, pipeline.EventProductAdded), ev("b", time.Hour, pipeline.EventProductAdded),
	})
	if c := w.Expected(nil, 0, day).Abandonment.Cart; c != (Cart{Carts: 3, Abandoned: 2, Recovered: 0, AbandonmentRate: 2.0 / 3}) {
		t.Errorf("session carts: %+v", c)
	}
}

func TestExpectedTimeOnSite(t *testing.T) {
	w := FromEvents([]Event{
		ev("a", 0, "/"),                                                                        // bounce: one page, 0 s
		ev("b", 0, "/products/1"), ev("b", 9999*time.Millisecond, pipeline.EventProductViewed), // bounce: 9.999 s, one page
		ev("c", 0, "/products/1"), ev("c", 10*time.Second, pipeline.EventProductViewed), // engaged: 10 s
		ev("d", 0, "/"), ev("d", time.Second, "/about"), // engaged: two pages
		ev("e", 0, pipeline.EventOrderCompleted, "cart_id", "x"), // engaged: a conversion
		// f: two sessions (31 min apart): 0 s bounce, then 100 s engaged.
		ev("f", 0, "/"), ev("f", 31*time.Minute, "/"), ev("f", 31*time.Minute+100*time.Second, "Clicked"),
		// g: 29 min apart: one session of 1740 s.
		ev("g", 0, "/"), ev("g", 29*time.Minute, "Clicked"),
	})
	x := w.Expected(nil, 0, 0).TimeOnSite
	// durations: 0, 9.999, 10, 1, 0, 0, 100, 1740 -> sorted 0 0 0 1 9.999 10 100 1740
	want := TimeOnSite{
		Sessions:        8,
		DurationSeconds: Quantiles{Mean: (9.999 + 10 + 1 + 100 + 1740) / 8, Median: 9.999, P90: 1740},
		BounceRate:      3.0 / 8,
		EngagementRate:  5.0 / 8,
	}
	if math.Abs(x.DurationSeconds.Mean-want.DurationSeconds.Mean) < 1e-9 {
		x.DurationSeconds.Mean = want.DurationSeconds.Mean
	}
	if x != want {
		t.Errorf("time on site\n got %+v\nwant %+v", x, want)
	}
}

func TestQuantileExact(t *testing.T) {
	for _, tc := range []struct {
		values      []float64
		level, want float64
	}{
		{nil, 0.5, 0},
		{[]float64{7}, 0.5, 7},
		{[]float64{4, 1, 3, 2}, 0.5, 3}, // index floor(0.5*4) = 2: the upper middle
		{[]float64{5, 1, 3}, 0.5, 3},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.9, 10}, // index 9
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.9, 9},      // index floor(8.1) = 8
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8}, 0.9, 8},         // index floor(7.2) = 7
		{[]float64{1, 2, 3}, 1, 3},
		{[]float64{1, 2, 3}, 0, 1},
	} {
		if got := QuantileExact(tc.values, tc.level); got != tc.want {
			t.Errorf("quantileExact(%v)(%v) = %v, want %v", tc.level, tc.values, got, tc.want)
		}
	}
}

func TestFunnelWhere(t *testing.T) {
	w := FromEvents([]Event{
		// a: its first A is shoes; a later A of hats does not matter.
		ev("a", 0, "A", "category", "shoes"), ev("a", time.Minute, "A", "category", "hats"), ev("a", 2*time.Minute, "B"),
		// b: first A hats, then shoes: not kept.
		ev("b", 0, "A", "category", "hats"), ev("b", time.Minute, "A", "category", "shoes"), ev("b", 2*time.Minute, "B"),
		// c: shoes, never B.
		ev("c", 0, "B"), ev("c", time.Minute, "A", "category", "shoes"),
		// d: a number compares by its JSON text.
		ev("d", 0, "A", "size", 42), ev("d", time.Minute, "B"),
	})
	counts := func(f Funnel) []int { return []int{f.Steps[0].Count, f.Steps[1].Count} }
	for _, c := range []struct {
		key, value string
		want       []int
	}{
		{"category", "shoes", []int{2, 1}}, // a c
		{"category", "hats", []int{1, 1}},  // b
		{"size", "42", []int{1, 1}},        // d
		{"category", "", []int{1, 1}},      // d: missing is ""
		{"category", "bags", []int{0, 0}},
	} {
		if got := counts(w.FunnelWhere([]string{"A", "B"}, day, c.key, c.value)); !slices.Equal(got, c.want) {
			t.Errorf("%s=%s: %v, want %v", c.key, c.value, got, c.want)
		}
	}
	// Two step-1 events in the same millisecond: the smaller message id.
	x, y := ev("e", 0, "A", "category", "shoes"), ev("e", 0, "A", "category", "hats")
	x.MessageID, y.MessageID = "m2", "m1"
	if got := counts(FromEvents([]Event{x, y}).FunnelWhere([]string{"A", "B"}, day, "category", "hats")); got[0] != 1 {
		t.Errorf("tie: %v, want the event m1 (hats)", got)
	}
}
