package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

func TestAbandonment(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	const (
		added   = "Product Added"
		started = "Checkout Started"
		ordered = "Order Completed"
	)
	insertEvents(t, conn,
		// k1: two adds, one cart from the first; ordered after 2 h: converted.
		// Its checkout (90 min) converts too.
		ev{id: "1", visitor: "a1", name: added, cart: "k1", at: t0},
		ev{id: "2", visitor: "a1", name: added, cart: "k1", at: t0.Add(time.Hour)},
		ev{id: "3", visitor: "a1", name: started, cart: "k1", at: t0.Add(90 * time.Minute)},
		ev{id: "4", visitor: "a1", name: ordered, at: t0.Add(2 * time.Hour)},
		// k2: ordered exactly 24 h later: converted (the bound is inclusive).
		ev{id: "5", visitor: "a2", name: added, cart: "k2", at: t0},
		ev{id: "6", visitor: "a2", name: ordered, at: t0.Add(24 * time.Hour)},
		// k3: ordered 24 h + 1 s after the add: abandoned, recovered. Its
		// checkout started 10 min after the add, so the order is within 24 h
		// of the checkout: that converts.
		ev{id: "7", visitor: "a3", name: added, cart: "k3", at: t0},
		ev{id: "8", visitor: "a3", name: started, cart: "k3", at: t0.Add(10 * time.Minute)},
		ev{id: "9", visitor: "a3", name: ordered, at: t0.Add(24*time.Hour + time.Second)},
		// No cart_id: the session is the cart. Never ordered: abandoned, and
		// its checkout too. The add arrives twice (counted once).
		ev{id: "10", visitor: "a4", name: added, session: "s4", at: t0},
		ev{id: "11", visitor: "a4", name: started, session: "s4", at: t0.Add(5 * time.Minute)},
		// k5: the order is by another visitor: abandoned.
		ev{id: "12", visitor: "a5", name: added, cart: "k5", at: t0},
		ev{id: "13", visitor: "a6", name: ordered, at: t0.Add(time.Hour)},
		// k6: the visitor ordered before adding: abandoned, not recovered.
		ev{id: "14", visitor: "a7", name: ordered, at: t0.Add(-time.Hour)},
		ev{id: "15", visitor: "a7", name: added, cart: "k6", at: t0},
		// k7 started before --from: not in the range, though added to again in it.
		ev{id: "16", visitor: "a8", name: added, cart: "k7", at: from.Add(-time.Hour)},
		ev{id: "17", visitor: "a8", name: added, cart: "k7", at: t0},
		// k8 started at --to: not in the range.
		ev{id: "18", visitor: "a8", name: added, cart: "k8", at: to},
		// A checkout ordered 24 h + 1 ms later: abandoned, recovered.
		ev{id: "19", visitor: "a10", name: started, cart: "k10", at: t0},
		ev{id: "20", visitor: "a10", name: ordered, at: t0.Add(24*time.Hour + time.Millisecond)},
		// The processor first put this add in session s-old...
		ev{id: "21", visitor: "a9", name: added, session: "s-old", at: t0},
	)
	later := time.Now().Add(time.Minute)
	insertEvents(t, conn,
		// ...then restated it into s-new: one cart, not two (events FINAL).
		ev{id: "21", visitor: "a9", name: added, session: "s-new", at: t0, insertedAt: later},
		// The redelivered add of the session cart.
		ev{id: "10", visitor: "a4", name: added, session: "s4", at: t0, insertedAt: later},
	)

	got, err := Abandonment(t.Context(), conn, Options{Detail: true, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	// Carts k1 k2 k3 s4 k5 k6 s-new = 7; abandoned k3 s4 k5 k6 s-new = 5;
	// recovered k3 = 1. Checkouts k1 k3 s4 k10 = 4; abandoned s4 k10 = 2;
	// recovered k10 = 1.
	want := AbandonmentReport{
		Cart:     CartAbandonment{Carts: 7, Abandoned: 5, Recovered: 1, AbandonmentRate: 5.0 / 7},
		Checkout: CheckoutAbandonment{Checkouts: 4, Abandoned: 2, Recovered: 1, AbandonmentRate: 0.5},
	}
	checkAbandonment(t, got, want)

	t.Run("within", func(t *testing.T) {
		// Within 90 min: no order comes within 90 min of its add, so all 7
		// carts are abandoned; k1 (2 h), k2 (24 h) and k3 (24 h 1 s) are
		// recovered. k1's checkout is ordered 30 min after it: converted;
		// k3, s4 and k10 are abandoned, k3 and k10 recovered.
		got, err := Abandonment(t.Context(), conn, Options{Detail: true, From: from, To: to, Within: 90 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		checkAbandonment(t, got, AbandonmentReport{
			Cart:     CartAbandonment{Carts: 7, Abandoned: 7, Recovered: 3, AbandonmentRate: 1},
			Checkout: CheckoutAbandonment{Checkouts: 4, Abandoned: 3, Recovered: 2, AbandonmentRate: 0.75},
		})
	})

	t.Run("empty range", func(t *testing.T) {
		got, err := Abandonment(t.Context(), conn, Options{Detail: true, From: date(2027, 1, 1), To: date(2027, 2, 1)})
		if err != nil {
			t.Fatal(err)
		}
		checkAbandonment(t, got, AbandonmentReport{})
	})
}

func checkAbandonment(t *testing.T, got *AbandonmentReport, want AbandonmentReport) {
	t.Helper()
	checkGroup(t, "total", AbandonmentGroup{Cart: got.Cart, Checkout: got.Checkout},
		AbandonmentGroup{Cart: want.Cart, Checkout: want.Checkout})
}

// checkGroup compares the counts of one day, channel or the totals.
func checkGroup(t *testing.T, what string, got, want AbandonmentGroup) {
	t.Helper()
	g := got
	if !near(g.Cart.AbandonmentRate, want.Cart.AbandonmentRate) || !near(g.Checkout.AbandonmentRate, want.Checkout.AbandonmentRate) {
		t.Errorf("%s: rates = %v %v, want %v %v", what, g.Cart.AbandonmentRate, g.Checkout.AbandonmentRate,
			want.Cart.AbandonmentRate, want.Checkout.AbandonmentRate)
	}
	g.Cart.AbandonmentRate, g.Checkout.AbandonmentRate = want.Cart.AbandonmentRate, want.Checkout.AbandonmentRate
	if g != want {
		t.Errorf("%s: abandonment = %+v, want %+v", what, got, want)
	}
}

// cartEvent is one row of events with the columns the abandonment
// breakdowns read.
type cartEvent struct {
	id, visitor, user, name string
	at                      time.Time
	cart, session, channel  string
	revenue                 float64
	properties              string
}

func insertCartEvents(t *testing.T, conn driver.Conn, rows ...cartEvent) {
	t.Helper()
	var values []string
	for _, r := range rows {
		props := r.properties
		if props == "" {
			props = "{}"
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %s, %s, %v, %s, 'track')",
			sqlString(r.id), sqlTime(r.at), sqlString(r.name), sqlString(r.visitor), sqlString(r.user),
			sqlString(r.cart), sqlString(r.session), sqlString(r.channel), r.revenue, sqlString(props)))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, event_name, visitor_id, user_id, cart_id, session_id, traffic_channel, revenue, properties, type) VALUES "+
		strings.Join(values, ", "))
}

// TestAbandonmentBreakdowns checks the days, channels, recovered-by and
// abandoned-cart list against hand-computed answers.
func TestAbandonmentBreakdowns(t *testing.T) {
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
		touch{id: "sB1", visitor: "b", start: t1, channel: "Email", touchpoint: "web"},
		touch{id: "sC1", visitor: "c", start: t2, channel: "Paid Search", touchpoint: "web"},
		// The sessions of the recovering orders: opened by a reminder.
		touch{id: "sB2", visitor: "b", start: t1.Add(30 * time.Hour), channel: "Email", touchpoint: "email", campaign: "cart-reminder"},
		touch{id: "sD2", visitor: "d", start: t2.Add(48 * time.Hour), channel: "SMS", touchpoint: "sms", campaign: "winback"},
		// A tombstone: sC1's channel does not come from a deleted row.
		touch{id: "sE1", visitor: "e", start: t2, channel: "Display", deleted: true},
	)
	exec(t, conn, "INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES "+
		"('b', 'u-b', "+sqlTime(t1)+", "+sqlTime(t1)+", 'identify', 'x')")
	insertCartEvents(t, conn,
		// kA: 2 x 10 + 5 (no quantity: 1) = 25 in 3 items; the user comes
		// with the second add. Never ordered: abandoned.
		cartEvent{id: "1", visitor: "a", name: added, cart: "kA", session: "sA1", at: t1, properties: `{"price":10,"quantity":2}`, revenue: 99},
		cartEvent{id: "2", visitor: "a", user: "u-a", name: added, cart: "kA", session: "sA1", at: t1.Add(time.Minute), properties: `{"price":5}`},
		// kB: no price, so its revenue (40). Cart and checkout ordered 30 h
		// later in sB2: both abandoned and recovered by email/cart-reminder.
		// Its user comes from persons (identities).
		cartEvent{id: "3", visitor: "b", name: added, cart: "kB", session: "sB1", at: t1, revenue: 40},
		cartEvent{id: "4", visitor: "b", name: started, cart: "kB", session: "sB1", at: t1.Add(5 * time.Minute), revenue: 40},
		cartEvent{id: "5", visitor: "b", name: ordered, session: "sB2", at: t1.Add(30 * time.Hour), revenue: 40},
		// kC: ordered 2 h later: converted, not listed.
		cartEvent{id: "6", visitor: "c", name: added, cart: "kC", session: "sC1", at: t2, properties: `{"price":3}`},
		cartEvent{id: "7", visitor: "c", name: ordered, session: "sC1", at: t2.Add(2 * time.Hour)},
		// The session sD1 is the cart; it has no sessions row, so the
		// event's channel counts. Ordered 48 h later in sD2: recovered by
		// sms/winback.
		// Its value, 0.1 + 0.2, is rounded to cents: 0.3.
		cartEvent{id: "8", visitor: "d", name: added, session: "sD1", channel: "Organic Social", at: t2, properties: `{"price":0.1,"quantity":1}`},
		cartEvent{id: "8b", visitor: "d", name: added, session: "sD1", at: t2.Add(time.Minute), properties: `{"price":0.2}`},
		cartEvent{id: "9", visitor: "d", name: ordered, session: "sD2", at: t2.Add(48 * time.Hour)},
		// kE: its session is a tombstone and it has no channel; never
		// ordered. Price and quantity as strings: 2 x 7.5 = 15.
		cartEvent{id: "10", visitor: "e", name: added, cart: "kE", session: "sE1", at: t2.Add(time.Hour), properties: `{"price":"7.5","quantity":"2"}`},
	)

	got, err := Abandonment(t.Context(), conn, Options{Detail: true, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	// Without Detail: the same totals and none of the breakdowns.
	plain, err := Abandonment(t.Context(), conn, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Cart != got.Cart || plain.Checkout != got.Checkout || plain.Days != nil || plain.Channels != nil || plain.AbandonedCarts != nil {
		t.Errorf("without Detail: %+v", plain)
	}
	// Carts kA kB kC sD1 kE = 5; abandoned kA kB sD1 kE = 4; recovered kB
	// sD1 = 2. Checkouts kB = 1, abandoned and recovered.
	checkAbandonment(t, got, AbandonmentReport{
		Cart:     CartAbandonment{Carts: 5, Abandoned: 4, Recovered: 2, AbandonmentRate: 0.8},
		Checkout: CheckoutAbandonment{Checkouts: 1, Abandoned: 1, Recovered: 1, AbandonmentRate: 1},
	})

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
	t.Run("days", func(t *testing.T) {
		// Nov 1: kA kB, both abandoned, kB recovered; kB's checkout.
		// Nov 2: kC sD1 kE; sD1 and kE abandoned, sD1 recovered.
		// Nov 3: nothing, but listed.
		want := []AbandonmentGroup{
			{Day: "2026-11-01", Cart: cart(2, 2, 1), Checkout: checkout(1, 1, 1)},
			{Day: "2026-11-02", Cart: cart(3, 2, 1)},
			{Day: "2026-11-03"},
		}
		if len(got.Days) != len(want) {
			t.Fatalf("days = %+v, want %+v", got.Days, want)
		}
		for i, w := range want {
			checkGroup(t, w.Day, got.Days[i], w)
		}
	})
	t.Run("channels", func(t *testing.T) {
		// Paid Search: kA (abandoned) and kC. Then by name: "(none)" kE
		// (its session is a tombstone), Email kB (and its checkout),
		// Organic Social sD1 (the event's channel).
		want := []AbandonmentGroup{
			{Channel: "Paid Search", Cart: cart(2, 1, 0)},
			{Channel: "(none)", Cart: cart(1, 1, 0)},
			{Channel: "Email", Cart: cart(1, 1, 1), Checkout: checkout(1, 1, 1)},
			{Channel: "Organic Social", Cart: cart(1, 1, 1)},
		}
		if len(got.Channels) != len(want) {
			t.Fatalf("channels = %+v, want %+v", got.Channels, want)
		}
		for i, w := range want {
			checkGroup(t, w.Channel, got.Channels[i], w)
		}
	})
	t.Run("recovered by", func(t *testing.T) {
		want := []Recovery{
			{Kind: "cart", Touchpoint: "email", Campaign: "cart-reminder", Recovered: 1},
			{Kind: "cart", Touchpoint: "sms", Campaign: "winback", Recovered: 1},
			{Kind: "checkout", Touchpoint: "email", Campaign: "cart-reminder", Recovered: 1},
		}
		if !slices.Equal(got.RecoveredBy, want) {
			t.Errorf("recovered by = %+v\nwant %+v", got.RecoveredBy, want)
		}
	})
	t.Run("abandoned carts", func(t *testing.T) {
		want := []AbandonedCart{
			{CartKey: "cart_id:kA", VisitorID: "a", UserID: "u-a", CartTime: t1, Value: 25, Items: 3},
			{CartKey: "cart_id:kB", VisitorID: "b", UserID: "u-b", CartTime: t1, Value: 40, Items: 1, Recovered: true},
			{CartKey: "session_id:sD1", VisitorID: "d", CartTime: t2, Value: 0.3, Items: 2, Recovered: true},
			{CartKey: "cart_id:kE", VisitorID: "e", CartTime: t2.Add(time.Hour), Value: 15, Items: 2},
		}
		if len(got.AbandonedCarts) != len(want) {
			t.Fatalf("abandoned carts = %+v\nwant %+v", got.AbandonedCarts, want)
		}
		for i, w := range want {
			g := got.AbandonedCarts[i]
			if !g.CartTime.Equal(w.CartTime) || !near(g.Value, w.Value) || !near(g.Items, w.Items) {
				t.Errorf("cart %d = %+v, want %+v", i, g, w)
			}
			g.CartTime, g.Value, g.Items = w.CartTime, w.Value, w.Items
			if g != w {
				t.Errorf("cart %d = %+v, want %+v", i, got.AbandonedCarts[i], w)
			}
		}
		var b strings.Builder
		if err := Write(&b, got.CartList(), FormatCSV); err != nil {
			t.Fatal(err)
		}
		wantCSV := "cart_key,visitor_id,user_id,cart_time,value,items,recovered\n" +
			"cart_id:kA,a,u-a,2026-11-01T10:00:00.000Z,25,3,0\n" +
			"cart_id:kB,b,u-b,2026-11-01T10:00:00.000Z,40,1,1\n" +
			"session_id:sD1,d,,2026-11-02T10:00:00.000Z,0.3,2,1\n" +
			"cart_id:kE,e,,2026-11-02T11:00:00.000Z,15,2,0\n"
		if b.String() != wantCSV {
			t.Errorf("csv:\n%s\nwant\n%s", b.String(), wantCSV)
		}
	})
}

// TestAbandonmentDisplay checks the tables people read: the breakdowns
// appear when there are any, and the cart list is cut at maxCartRows.
func TestAbandonmentDisplay(t *testing.T) {
	r := &AbandonmentReport{
		Days:        []AbandonmentGroup{{Day: "2026-11-02", Cart: CartAbandonment{Carts: 2, Abandoned: 1, AbandonmentRate: 0.5}}},
		RecoveredBy: []Recovery{{Kind: "cart", Touchpoint: "email", Campaign: "reminder", Recovered: 1}},
	}
	for i := range maxCartRows + 5 {
		r.AbandonedCarts = append(r.AbandonedCarts, AbandonedCart{CartKey: fmt.Sprint("cart_id:", i), VisitorID: "v",
			CartTime: date(2026, 11, 2).Add(time.Duration(i) * time.Second), Value: 1.5})
	}
	tables := r.display()
	if len(tables) != 4 {
		t.Fatalf("%d tables, want totals, days, recovered by, carts", len(tables))
	}
	if got := strings.Join(tables[1][1], " "); got != "2026-11-02 2 1 0 50.0% 0 0 0 0.0%" {
		t.Errorf("day row %q", got)
	}
	carts := tables[3]
	if len(carts) != 1+maxCartRows+1 || carts[len(carts)-1][0] != "... 5 more" {
		t.Errorf("cart table: %d rows, last %q", len(carts), carts[len(carts)-1])
	}
	if got := strings.Join(carts[1], " "); got != "cart_id:0 v - 2026-11-02 00:00:00 1.50 0 no" {
		t.Errorf("cart row %q", got)
	}
	// The list as a report of its own has every cart.
	if got := len(r.CartList().records()); got != 1+maxCartRows+5 {
		t.Errorf("csv: %d rows, want %d", got, 1+maxCartRows+5)
	}
}
