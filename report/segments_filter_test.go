package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// customerLines prints a segments report's customer list, one line per
// customer: id, visitors, user id, orders, revenue, aov, last order, top
// category, R F M and segment; then the summary's totals.
func customerLines(r *SegmentsReport) string {
	var lines []string
	for _, c := range r.List {
		lines = append(lines, fmt.Sprintf("%s %v %s %d %v %v %s %s %d%d%d %s", c.CustomerID, c.VisitorIDs, c.UserID,
			c.Orders, c.Revenue, c.AOV, c.LastOrder.UTC().Format("01-02"), c.TopCategory, c.R, c.F, c.M, c.Segment))
	}
	return strings.Join(append(lines, fmt.Sprintf("= %d %d %v", r.Customers, r.Orders, r.Revenue)), "\n")
}

// TestSegmentsFilter checks the report filter of the segments report
// against hand-computed customers: a customer is kept when the event of
// its first order in the range (ties by message_id) passes; its row is
// the unfiltered one (all its orders, of any channel, count, and R, F, M
// rank it among all customers), so the filtered reports of every channel
// add up to the unfiltered one. First orders:
//
//	u1 (va, vb)  va's Email email category=shoes (Nov 5); then vb's Direct and SMS orders
//	vc           Direct web (Nov 10); then an Email order
//	vd           Paid Search app coupon=X (Nov 3): its Email order of Nov 2 is cancelled
//	ve           Organic Search web (Nov 15): its Email order of Oct 20 is before the range
//	u2 (vf, vg)  vg's Email web qty=2 (Nov 12): ties with vf's Direct order,
//	             which has the larger message_id (though vf sorts first)
func TestSegmentsFilter(t *testing.T) {
	conn := migratedConn(t)
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	const order = "Order Completed"
	insertFull(t, conn,
		fev{id: "1", visitor: "va", name: order, at: at(5, 10), channel: "Email", touchpoint: "email", props: `{"category":"shoes"}`, revenue: 100},
		fev{id: "2", visitor: "vb", name: order, at: at(20, 10), channel: "Direct", touchpoint: "web", props: `{"category":"bags"}`, revenue: 30},
		fev{id: "3", visitor: "vb", name: order, at: at(28, 10), channel: "SMS", touchpoint: "sms", props: `{"category":"shoes"}`, revenue: 50},
		fev{id: "4", visitor: "vc", name: "Product Added", at: at(9, 10), channel: "Email", touchpoint: "email"},
		fev{id: "5", visitor: "vc", name: order, at: at(10, 10), channel: "Direct", touchpoint: "web", revenue: 20},
		fev{id: "6", visitor: "vc", name: order, at: at(25, 10), channel: "Email", touchpoint: "email", revenue: 40},
		fev{id: "7", visitor: "vd", name: order, at: at(2, 10), channel: "Email", touchpoint: "email", revenue: 70, orderID: "o-7"},
		fev{id: "8", visitor: "vd", name: "Order Cancelled", at: at(2, 12), channel: "Email", touchpoint: "email", orderID: "o-7"},
		fev{id: "9", visitor: "vd", name: order, at: at(3, 10), channel: "Paid Search", touchpoint: "app", props: `{"coupon":"X"}`, revenue: 300},
		fev{id: "10", visitor: "ve", name: order, at: time.Date(2026, 10, 20, 10, 0, 0, 0, time.UTC), channel: "Email", touchpoint: "email", revenue: 999},
		fev{id: "11", visitor: "ve", name: order, at: at(15, 10), channel: "Organic Search", touchpoint: "web", revenue: 10},
		// The tie: "f2" goes in first and its visitor sorts first; "f1"
		// has the smaller message_id.
		fev{id: "f2", visitor: "vf", name: order, at: at(12, 10), channel: "Direct", touchpoint: "web", revenue: 35},
		fev{id: "f1", visitor: "vg", name: order, at: at(12, 10), channel: "Email", touchpoint: "web", props: `{"qty":2}`, revenue: 25},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('va', 'u1', '2026-11-05 00:00:00', '2026-11-05 00:00:00', 'identify', 'x1'),
		('vb', 'u1', '2026-11-20 00:00:00', '2026-11-20 00:00:00', 'identify', 'x2'),
		('vf', 'u2', '2026-11-12 00:00:00', '2026-11-12 00:00:00', 'identify', 'x3'),
		('vg', 'u2', '2026-11-12 00:00:00', '2026-11-12 00:00:00', 'identify', 'x4')`)
	run := func(t *testing.T, f Filter) *SegmentsReport {
		t.Helper()
		r, err := Segments(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// R by last order: vd Nov 3, u2 Nov 12, ve Nov 15, vc Nov 25, u1
	// Nov 28: 1..5. F by orders: vd ve 1 (rank 1), vc u2 2 (rank 3), u1 3
	// (5). M by revenue: ve 10, vc u2 60 (rank 2), u1 180, vd 300.
	var (
		vd = "vd [vd]  1 300 300 11-03  115 Hibernating"
		u1 = "u1 [va vb] u1 3 180 60 11-28 shoes 554 Champions"
		vc = "vc [vc]  2 60 30 11-25  432 Loyal"
		u2 = "u2 [vf vg] u2 2 60 30 11-12  232 At risk"
		ve = "ve [ve]  1 10 10 11-15  311 Promising"
	)
	for _, c := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"unfiltered", Filter{}, []string{vd, u1, u2, vc, ve, "= 5 9 610"}},
		// u1 and u2, with all their orders (Direct, SMS) and the R, F, M
		// of the whole list. Not vc (an Email order, not its first), vd
		// (its Email order is cancelled), ve (before the range).
		{"channel Email", Filter{Channels: []string{"Email"}}, []string{u1, u2, "= 2 5 240"}},
		// vc; u2's Direct order ties with its Email one and loses.
		{"channel Direct", Filter{Channels: []string{"Direct"}}, []string{vc, "= 1 2 60"}},
		{"channel Paid Search", Filter{Channels: []string{"Paid Search"}}, []string{vd, "= 1 1 300"}},
		{"channels Organic Search, Direct", Filter{Channels: []string{"Organic Search", "Direct"}}, []string{vc, ve, "= 2 3 70"}},
		{"touchpoint app", Filter{Touchpoints: []string{"app"}}, []string{vd, "= 1 1 300"}},
		// vb's SMS order is not u1's first.
		{"touchpoint sms", Filter{Touchpoints: []string{"sms"}}, []string{"= 0 0 0"}},
		{"touchpoint web", Filter{Touchpoints: []string{"web"}}, []string{u2, vc, ve, "= 3 5 130"}},
		{"where category=shoes", Filter{Where: []Property{{"category", "shoes"}}}, []string{u1, "= 1 3 180"}},
		// vb's bags order is not u1's first: nobody.
		{"where category=bags", Filter{Where: []Property{{"category", "bags"}}}, []string{"= 0 0 0"}},
		// A number compared by its JSON text.
		{"where qty=2", Filter{Where: []Property{{"qty", "2"}}}, []string{u2, "= 1 2 60"}},
		{"Email web", Filter{Channels: []string{"Email"}, Touchpoints: []string{"web"}}, []string{u2, "= 1 2 60"}},
		{"Email where category=shoes", Filter{Channels: []string{"Email"}, Where: []Property{{"category", "shoes"}}}, []string{u1, "= 1 3 180"}},
		{"Direct where qty=2", Filter{Channels: []string{"Direct"}, Where: []Property{{"qty", "2"}}}, []string{"= 0 0 0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, c.filter)
			if s, want := customerLines(got), strings.Join(c.want, "\n"); s != want {
				t.Errorf("segments =\n%s\nwant\n%s", s, want)
			}
			if len(got.Segments) != len(SegmentNames) {
				t.Errorf("%d segments, want %d", len(got.Segments), len(SegmentNames))
			}
		})
	}

	// The filtered reports are the rows of a breakdown by the first
	// order's channel: each customer is in exactly one, with its
	// unfiltered row, and the segment summaries add up.
	t.Run("partition by channel", func(t *testing.T) {
		all := run(t, Filter{})
		rows := map[string]string{}
		for _, line := range strings.Split(customerLines(all), "\n") {
			rows[strings.Fields(line)[0]] = line
		}
		sums := make([]SegmentSummary, len(SegmentNames))
		seen := map[string]int{}
		for _, ch := range distinctColumn(t, conn, "traffic_channel") {
			part := run(t, Filter{Channels: []string{ch}})
			lines := strings.Split(customerLines(part), "\n")
			for _, line := range lines[:len(lines)-1] {
				id := strings.Fields(line)[0]
				seen[id]++
				if line != rows[id] {
					t.Errorf("%s: %s\nwant the unfiltered row %s", ch, line, rows[id])
				}
			}
			for i, s := range part.Segments {
				sums[i].Customers += s.Customers
				sums[i].Orders += s.Orders
				sums[i].Revenue += s.Revenue
			}
		}
		if len(seen) != len(all.List) {
			t.Errorf("customers %v, want each of %d once", seen, len(all.List))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("customer %s in %d channels", id, n)
			}
		}
		for i, s := range all.Segments {
			if sums[i].Customers != s.Customers || sums[i].Orders != s.Orders || !near(sums[i].Revenue, s.Revenue) {
				t.Errorf("segment %s: channels add up to %+v, want %+v", s.Segment, sums[i], s)
			}
		}
	})
}
