package report

import (
	"testing"
	"time"
)

// TestAttributionTotalsByPerson: by person too, every model's credits add
// up to the attributed conversions and revenue of the totals, which
// attribution_totals.sql counts from attribution.sql's own CTEs. e's
// order has no session of e's own; linked to a, a's sessions are its
// touches, so by person it is attributed (with a lookback reaching them)
// and by visitor it is not.
func TestAttributionTotalsByPerson(t *testing.T) {
	conn := migratedConn(t)
	attributionFixtures(t, conn)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('a', 'u', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'identify', 'i1'),
		('e', 'u', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'identify', 'i2')`)
	for _, tc := range []struct {
		by       string
		lookback time.Duration
		want     uint64  // attributed conversions, by hand
		revenue  float64 // their revenue
	}{
		// a (100), b (50), c (30), d's two (20, 40); not e (5).
		{ByVisitor, DefaultLookback, 5, 240},
		// e's order on Nov 5 is 4 days after a's first session (Nov 1).
		{ByPerson, DefaultLookback, 6, 245},
		{ByPerson, 24 * time.Hour, 5, 240},
	} {
		got, err := Attribution(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Lookback: tc.lookback, By: tc.by})
		if err != nil {
			t.Fatal(err)
		}
		if got.Conversions != 6 || !near(got.Revenue, 245) || got.AttributedConversions != tc.want || !near(got.AttributedRevenue, tc.revenue) {
			t.Errorf("by %s, lookback %s: conversions %d (%v), attributed %d (%v); want 6 (245), %d (%v)", tc.by, tc.lookback,
				got.Conversions, got.Revenue, got.AttributedConversions, got.AttributedRevenue, tc.want, tc.revenue)
		}
		for _, m := range Models {
			var n, rev float64
			for _, row := range got.Rows {
				n += row.Credit(m).Conversions
				rev += row.Credit(m).Revenue
			}
			if !near(n, float64(got.AttributedConversions)) || !near(rev, got.AttributedRevenue) {
				t.Errorf("by %s, lookback %s, %s: credits %v, revenue %v; attributed %d, %v",
					tc.by, tc.lookback, m, n, rev, got.AttributedConversions, got.AttributedRevenue)
			}
		}
	}
}
