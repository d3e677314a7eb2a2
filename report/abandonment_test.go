package report

import (
	"testing"
	"time"
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

	got, err := Abandonment(t.Context(), conn, Options{From: from, To: to})
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
		got, err := Abandonment(t.Context(), conn, Options{From: from, To: to, Within: 90 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		checkAbandonment(t, got, AbandonmentReport{
			Cart:     CartAbandonment{Carts: 7, Abandoned: 7, Recovered: 3, AbandonmentRate: 1},
			Checkout: CheckoutAbandonment{Checkouts: 4, Abandoned: 3, Recovered: 2, AbandonmentRate: 0.75},
		})
	})

	t.Run("empty range", func(t *testing.T) {
		got, err := Abandonment(t.Context(), conn, Options{From: date(2027, 1, 1), To: date(2027, 2, 1)})
		if err != nil {
			t.Fatal(err)
		}
		checkAbandonment(t, got, AbandonmentReport{})
	})
}

func checkAbandonment(t *testing.T, got *AbandonmentReport, want AbandonmentReport) {
	t.Helper()
	g := *got
	if !near(g.Cart.AbandonmentRate, want.Cart.AbandonmentRate) || !near(g.Checkout.AbandonmentRate, want.Checkout.AbandonmentRate) {
		t.Errorf("rates = %v %v, want %v %v", g.Cart.AbandonmentRate, g.Checkout.AbandonmentRate,
			want.Cart.AbandonmentRate, want.Checkout.AbandonmentRate)
	}
	g.Cart.AbandonmentRate, g.Checkout.AbandonmentRate = want.Cart.AbandonmentRate, want.Checkout.AbandonmentRate
	if g != want {
		t.Errorf("abandonment = %+v, want %+v", *got, want)
	}
}
