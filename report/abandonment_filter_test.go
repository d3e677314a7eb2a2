package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// TestAbandonmentFilter checks the report filter of the abandonment report
// against hand-computed answers: a cart or checkout is kept when its first
// event passes (its channel being the channel breakdown's), its orders are
// not filtered, and a report filtered by channel X is the X row of the
// unfiltered channel breakdown.
func TestAbandonmentFilter(t *testing.T) {
	conn := migratedConn(t)
	t1 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	from, to := date(2026, 11, 1), date(2026, 11, 4)
	const (
		added   = "Product Added"
		started = "Checkout Started"
		ordered = "Order Completed"
	)
	insertTouches(t, conn,
		touch{id: "sA1", visitor: "a", start: t1, channel: "Paid Search", touchpoint: "web"},
		touch{id: "sB1", visitor: "b", start: t1, channel: "Email", touchpoint: "email"},
		// kB's recovering order comes in a session of another channel.
		touch{id: "sB2", visitor: "b", start: t1.Add(30 * time.Hour), channel: "SMS", touchpoint: "sms", campaign: "reminder"},
		touch{id: "sC1", visitor: "c", start: t2, channel: "Paid Search", touchpoint: "web"},
		// kC's converting order too.
		touch{id: "sC2", visitor: "c", start: t2.Add(2 * time.Hour), channel: "Organic Search", touchpoint: "web"},
	)
	insertFull(t, conn,
		// kA: its first event's own channel is Direct, but its session's
		// is Paid Search, which the channel breakdown (and so the filter)
		// reads. Its second add (app, hats) decides nothing. Abandoned.
		fev{id: "1", visitor: "a", name: added, cart: "kA", session: "sA1", at: t1,
			channel: "Direct", touchpoint: "web", props: `{"category":"shoes","price":10}`},
		fev{id: "2", visitor: "a", name: added, cart: "kA", session: "sA1", at: t1.Add(time.Minute),
			channel: "Direct", touchpoint: "app", props: `{"category":"hats","price":5}`},
		// kB (Email): cart from an email click, checkout on the web; both
		// recovered by an order in an SMS session 30 h later.
		fev{id: "3", visitor: "b", name: added, cart: "kB", session: "sB1", at: t1,
			channel: "Email", touchpoint: "email", props: `{"category":"hats"}`},
		fev{id: "4", visitor: "b", name: started, cart: "kB", session: "sB1", at: t1.Add(5 * time.Minute),
			channel: "Email", touchpoint: "web"},
		fev{id: "5", visitor: "b", name: ordered, session: "sB2", at: t1.Add(30 * time.Hour),
			channel: "SMS", touchpoint: "sms"},
		// kC (Paid Search): cart and checkout converted by an order in an
		// Organic Search session.
		fev{id: "6", visitor: "c", name: added, cart: "kC", session: "sC1", at: t2,
			channel: "Paid Search", touchpoint: "web", props: `{"category":"shoes"}`},
		fev{id: "7", visitor: "c", name: started, cart: "kC", session: "sC1", at: t2.Add(time.Hour),
			channel: "Paid Search", touchpoint: "web", props: `{"category":"shoes"}`},
		fev{id: "8", visitor: "c", name: ordered, session: "sC2", at: t2.Add(2 * time.Hour),
			channel: "Organic Search", touchpoint: "web"},
		// sD1: no sessions row, so the event's channel (Organic Social).
		// A number property: size=42 matches its JSON text. Abandoned.
		fev{id: "9", visitor: "d", name: added, session: "sD1", at: t2.Add(2 * time.Hour),
			channel: "Organic Social", touchpoint: "web", props: `{"category":"shoes","size":42}`},
		// kE: no session, no channel: "(none)". Abandoned.
		fev{id: "10", visitor: "e", name: added, cart: "kE", at: t2.Add(3 * time.Hour), touchpoint: "chat"},
	)

	cart := func(n, ab, rec uint64) CartAbandonment {
		c := CartAbandonment{Carts: n, Abandoned: ab, Recovered: rec}
		if n > 0 {
			c.AbandonmentRate = float64(ab) / float64(n)
		}
		return c
	}
	checkout := func(n, ab, rec uint64) CheckoutAbandonment {
		c := cart(n, ab, rec)
		return CheckoutAbandonment{Checkouts: c.Carts, Abandoned: c.Abandoned, Recovered: c.Recovered, AbandonmentRate: c.AbandonmentRate}
	}
	run := func(t *testing.T, f Filter) *AbandonmentReport {
		t.Helper()
		r, err := Abandonment(t.Context(), conn, Options{Detail: true, From: from, To: to, Filter: f})
		if err != nil {
			t.Fatalf("filter %+v: %v", f, err)
		}
		return r
	}
	total := func(r *AbandonmentReport) AbandonmentGroup {
		return AbandonmentGroup{Cart: r.Cart, Checkout: r.Checkout}
	}

	// Unfiltered: carts kA kB kC sD1 kE = 5, abandoned kA kB sD1 kE = 4,
	// recovered kB = 1; checkouts kB kC = 2, abandoned and recovered kB.
	all := run(t, Filter{})
	checkGroup(t, "unfiltered", total(all), AbandonmentGroup{Cart: cart(5, 4, 1), Checkout: checkout(2, 1, 1)})
	wantChannels := []AbandonmentGroup{
		{Channel: "Paid Search", Cart: cart(2, 1, 0), Checkout: checkout(1, 0, 0)},
		{Channel: "(none)", Cart: cart(1, 1, 0)},
		{Channel: "Email", Cart: cart(1, 1, 1), Checkout: checkout(1, 1, 1)},
		{Channel: "Organic Social", Cart: cart(1, 1, 0)},
	}
	if len(all.Channels) != len(wantChannels) {
		t.Fatalf("unfiltered channels = %+v, want %+v", all.Channels, wantChannels)
	}
	for i, w := range wantChannels {
		checkGroup(t, "unfiltered "+w.Channel, all.Channels[i], w)
	}

	for _, c := range []struct {
		name string
		f    Filter
		want AbandonmentGroup
	}{
		// kA by its session's channel, not its event's (Direct).
		{"channel Paid Search", Filter{Channels: []string{"Paid Search"}}, AbandonmentGroup{Cart: cart(2, 1, 0), Checkout: checkout(1, 0, 0)}},
		{"channel Direct", Filter{Channels: []string{"Direct"}}, AbandonmentGroup{}},
		// The recovering order is in an SMS session: still counted.
		{"channel Email", Filter{Channels: []string{"Email"}}, AbandonmentGroup{Cart: cart(1, 1, 1), Checkout: checkout(1, 1, 1)}},
		{"channel SMS", Filter{Channels: []string{"SMS"}}, AbandonmentGroup{}},
		{"channels Email or Organic Social", Filter{Channels: []string{"Email", "Organic Social"}},
			AbandonmentGroup{Cart: cart(2, 2, 1), Checkout: checkout(1, 1, 1)}},
		// kB's cart came from an email click, its checkout from the web.
		{"touchpoint email", Filter{Touchpoints: []string{"email"}}, AbandonmentGroup{Cart: cart(1, 1, 1)}},
		// kA's second add is app, its first web: kept.
		{"touchpoint web", Filter{Touchpoints: []string{"web"}}, AbandonmentGroup{Cart: cart(3, 2, 0), Checkout: checkout(2, 1, 1)}},
		{"touchpoint app", Filter{Touchpoints: []string{"app"}}, AbandonmentGroup{}},
		{"where category=shoes", Filter{Where: []Property{{"category", "shoes"}}}, AbandonmentGroup{Cart: cart(3, 2, 0), Checkout: checkout(1, 0, 0)}},
		// kA's second add has hats: only the first event counts.
		{"where category=hats", Filter{Where: []Property{{"category", "hats"}}}, AbandonmentGroup{Cart: cart(1, 1, 1)}},
		{"where category=shoes,size=42", Filter{Where: []Property{{"category", "shoes"}, {"size", "42"}}}, AbandonmentGroup{Cart: cart(1, 1, 0)}},
		{"channel, touchpoint and where", Filter{Channels: []string{"Paid Search"}, Touchpoints: []string{"web"}, Where: []Property{{"category", "shoes"}}},
			AbandonmentGroup{Cart: cart(2, 1, 0), Checkout: checkout(1, 0, 0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, c.f)
			checkGroup(t, "total", total(got), c.want)
			// The companions group the same carts.
			var days, channels AbandonmentGroup
			for _, d := range got.Days {
				days = addGroups(days, d)
			}
			for _, ch := range got.Channels {
				channels = addGroups(channels, ch)
			}
			checkGroup(t, "sum of days", days, c.want)
			checkGroup(t, "sum of channels", channels, c.want)
			var recovered [2]uint64
			for _, v := range got.RecoveredBy {
				if v.Kind == "cart" {
					recovered[0] += v.Recovered
				} else {
					recovered[1] += v.Recovered
				}
			}
			if recovered != [2]uint64{c.want.Cart.Recovered, c.want.Checkout.Recovered} {
				t.Errorf("recovered by = %+v, want %d carts and %d checkouts", got.RecoveredBy, c.want.Cart.Recovered, c.want.Checkout.Recovered)
			}
			if n := uint64(len(got.AbandonedCarts)); n != c.want.Cart.Abandoned {
				t.Errorf("abandoned carts = %+v, want %d", got.AbandonedCarts, c.want.Cart.Abandoned)
			}
		})
	}

	t.Run("channel filter is the breakdown row", func(t *testing.T) {
		for _, row := range all.Channels {
			got := run(t, Filter{Channels: []string{row.Channel}})
			checkGroup(t, row.Channel, total(got), AbandonmentGroup{Cart: row.Cart, Checkout: row.Checkout})
			if len(got.Channels) != 1 || got.Channels[0].Channel != row.Channel {
				t.Errorf("%s: channels = %+v, want only its own row", row.Channel, got.Channels)
				continue
			}
			checkGroup(t, row.Channel+" breakdown", got.Channels[0], row)
		}
	})

	t.Run("details of channel Email", func(t *testing.T) {
		got := run(t, Filter{Channels: []string{"Email"}})
		wantDays := []AbandonmentGroup{
			{Day: "2026-11-01", Cart: cart(1, 1, 1), Checkout: checkout(1, 1, 1)},
			{Day: "2026-11-02"},
			{Day: "2026-11-03"},
		}
		if len(got.Days) != len(wantDays) {
			t.Fatalf("days = %+v, want %+v", got.Days, wantDays)
		}
		for i, w := range wantDays {
			checkGroup(t, w.Day, got.Days[i], w)
		}
		wantBy := []Recovery{
			{Kind: "cart", Touchpoint: "sms", Campaign: "reminder", Recovered: 1},
			{Kind: "checkout", Touchpoint: "sms", Campaign: "reminder", Recovered: 1},
		}
		if !slices.Equal(got.RecoveredBy, wantBy) {
			t.Errorf("recovered by = %+v, want %+v", got.RecoveredBy, wantBy)
		}
		if len(got.AbandonedCarts) != 1 || got.AbandonedCarts[0].CartKey != "cart_id:kB" || !got.AbandonedCarts[0].Recovered {
			t.Errorf("abandoned carts = %+v, want kB, recovered", got.AbandonedCarts)
		}
	})

	t.Run("details of where category=shoes", func(t *testing.T) {
		got := run(t, Filter{Where: []Property{{"category", "shoes"}}})
		var keys []string
		for _, c := range got.AbandonedCarts {
			keys = append(keys, c.CartKey)
		}
		if want := []string{"cart_id:kA", "session_id:sD1"}; !slices.Equal(keys, want) {
			t.Errorf("abandoned carts = %v, want %v", keys, want)
		}
		if len(got.RecoveredBy) != 0 {
			t.Errorf("recovered by = %+v, want none", got.RecoveredBy)
		}
	})

	t.Run("unfiltered SQL reads no filter", func(t *testing.T) {
		plain, err := sqlfiles.Query("abandonment", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"only_", "kept_starts", "cart_first", "{{"} {
			if strings.Contains(plain, s) {
				t.Errorf("unfiltered abandonment.sql has %q", s)
			}
		}
		filtered, err := sqlfiles.Query("abandonment", true)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(filtered, "{only_channels:Array(String)}") {
			t.Errorf("filtered abandonment.sql does not read the filter")
		}
	})
}

// addGroups sums the counts of two groups (rates are not summed: checkGroup
// compares them separately, so they are recomputed here).
func addGroups(a, b AbandonmentGroup) AbandonmentGroup {
	a.Cart.Carts += b.Cart.Carts
	a.Cart.Abandoned += b.Cart.Abandoned
	a.Cart.Recovered += b.Cart.Recovered
	a.Checkout.Checkouts += b.Checkout.Checkouts
	a.Checkout.Abandoned += b.Checkout.Abandoned
	a.Checkout.Recovered += b.Checkout.Recovered
	a.Cart.AbandonmentRate, a.Checkout.AbandonmentRate = 0, 0
	if a.Cart.Carts > 0 {
		a.Cart.AbandonmentRate = float64(a.Cart.Abandoned) / float64(a.Cart.Carts)
	}
	if a.Checkout.Checkouts > 0 {
		a.Checkout.AbandonmentRate = float64(a.Checkout.Abandoned) / float64(a.Checkout.Checkouts)
	}
	return a
}
