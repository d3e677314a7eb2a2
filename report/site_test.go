package report

import (
	"testing"
	"time"
)

// TestSite checks --site: events by write_key, sessions by their events.
func TestSite(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	insertEvents(t, conn,
		ev{id: "1", visitor: "a", session: "sa", site: "shop", name: "Product Added", cart: "k1", at: t0},
		ev{id: "2", visitor: "a", session: "sa", site: "shop", name: "Order Completed", at: t0.Add(time.Hour)},
		ev{id: "3", visitor: "b", session: "sb", site: "shop", name: "Product Added", cart: "k2", at: t0},
		ev{id: "4", visitor: "c", session: "sc", site: "blog", name: "Product Added", cart: "k3", at: t0},
	)
	insertSessions(t, conn,
		sess{id: "sa", visitor: "a", start: t0, duration: time.Hour, pageViews: 3, version: 1},
		sess{id: "sb", visitor: "b", start: t0, duration: 0, pageViews: 1, version: 1},
		sess{id: "sc", visitor: "c", start: t0, duration: 0, pageViews: 1, version: 1},
	)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15)}
	for _, tc := range []struct {
		site              string
		carts, abandoned  uint64
		sessions, engaged uint64
	}{
		{site: "", carts: 3, abandoned: 2, sessions: 3, engaged: 1},
		{site: "shop", carts: 2, abandoned: 1, sessions: 2, engaged: 1},
		{site: "blog", carts: 1, abandoned: 1, sessions: 1, engaged: 0},
		{site: "none", carts: 0, abandoned: 0, sessions: 0, engaged: 0},
	} {
		t.Run("site="+tc.site, func(t *testing.T) {
			opts.Site = tc.site
			ab, err := Abandonment(t.Context(), conn, opts)
			if err != nil {
				t.Fatal(err)
			}
			if ab.Cart.Carts != tc.carts || ab.Cart.Abandoned != tc.abandoned {
				t.Errorf("carts %d abandoned %d, want %d %d", ab.Cart.Carts, ab.Cart.Abandoned, tc.carts, tc.abandoned)
			}
			ts, err := TimeOnSite(t.Context(), conn, opts)
			if err != nil {
				t.Fatal(err)
			}
			if ts.Sessions != tc.sessions || (tc.sessions > 0 && !near(ts.EngagementRate, float64(tc.engaged)/float64(tc.sessions))) {
				t.Errorf("sessions %d engagement %v, want %d engaged of %d", ts.Sessions, ts.EngagementRate, tc.engaged, tc.sessions)
			}
		})
	}
}
