package report

import (
	"testing"
	"time"
)

// TestFunnelPageSteps: "page:/path/*" steps match page views by path, * is
// any characters, LIKE's own % and _ match themselves, and a track event of
// the same path does not count.
func TestFunnelPageSteps(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	exec(t, conn, `INSERT INTO events (message_id, event_time, visitor_id, type, event_name, page_path) VALUES
		('p1', '2026-11-03 09:00:00', 'a', 'page', '', '/products/shoe-1'),
		('p2', '2026-11-03 09:01:00', 'a', 'track', 'Product Added', ''),
		('p3', '2026-11-03 09:02:00', 'a', 'page', '', '/checkout'),
		('p4', '2026-11-03 09:00:00', 'b', 'page', '', '/products/'),
		('p5', '2026-11-03 09:03:00', 'b', 'track', 'Product Added', '/checkout'),
		('p6', '2026-11-03 09:00:00', 'c', 'screen', '', '/products/x'),
		('p7', '2026-11-03 09:00:00', 'd', 'page', '', '/product_s/x'),
		('p8', '2026-11-03 09:00:00', 'e', 'page', '', '/100%/x')`)
	for _, tc := range []struct {
		steps []string
		want  []uint64
	}{
		{[]string{"page:/products/*", "Product Added", "page:/checkout"}, []uint64{3, 2, 1}},
		{[]string{"page:/products/*|page:/product_s/*"}, []uint64{4}},
		{[]string{"page:/100%/*"}, []uint64{1}},
		{[]string{"page:/products/*|Product Added", "page:/checkout|page:/cart"}, []uint64{3, 1}},
	} {
		r, err := Funnel(t.Context(), conn, Options{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Steps: tc.steps})
		if err != nil {
			t.Fatalf("%v: %v", tc.steps, err)
		}
		for i, w := range tc.want {
			if r.Steps[i].Count != w {
				t.Errorf("%v step %d: %d visitors, want %d", tc.steps, i+1, r.Steps[i].Count, w)
			}
		}
	}
}
