package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

const (
	refunded  = "Order Refunded"
	cancelled = "Order Cancelled"
)

// refundFixtures are orders in November 2026 with every kind of change
// (sql/README.md, "Orders, refunds and cancellations"). Orders are at noon;
// o<X> is order X's 'Order Completed', r/c its refunds and cancellation.
//
//	order visitor  revenue  change                                   net
//	A     va       100      cancelled on Dec 3 (after to)            no order
//	B     vb        80      refunds 10 and -20 (abs)                 50
//	B2    vb        25      none                                     25
//	C     vc        60      refund without an amount                 0
//	D     vd        40      refund of 70 (clamped)                   0
//	E     ve        90      refund of 40 on Oct 25 (before from)     50
//	F     vf       120      refund of 20, inserted before the order  100
//	G     vg        70      refund of 10 on Dec 5 (after to)         60
//	H     vh        50      refund of 15, inserted twice (one row    35
//	                        under FINAL)
//	P1    vp1      100      refund of 30 sent by vp2                 70
//	P2    vp2       40      none                                     40
//	P3    vp2      500      cancelled by a server visitor srv        no order
//	''    vn        10      a refund with order_id '' (matches none) 10
//
// vp1 and vp2 are linked to user u1. vn also has a page named 'Order
// Completed' (999), which is no order. So in November: 11 orders, net
// revenue 440; visitors va vb vc vd ve vf vg vh vp1 vp2 vn srv (12), of
// whom 10 are customers (all but va and srv). Sessions: va Display (Nov
// 10), vb Email (Nov 12), vc Paid Search (Nov 14), vf Referral (Nov 20),
// vp2 Organic Search (Nov 22).
func refundFixtures(t *testing.T, conn driver.Conn) {
	t.Helper()
	// No background merge may collapse the duplicate refund before the
	// reports read it: FINAL must do it.
	exec(t, conn, "SYSTEM STOP MERGES events")
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	dec := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }
	rh := rich{id: "rh", visitor: "vh", name: refunded, at: at(19, 0), revenue: 15, orderID: "H"}
	// F's refund arrives before its order.
	insertRich(t, conn, rich{id: "rf", visitor: "vf", name: refunded, at: at(21, 0), revenue: 20, orderID: "F"})
	insertRich(t, conn,
		rich{id: "oA", visitor: "va", at: at(10, 12), revenue: 100, orderID: "A"},
		rich{id: "cA", visitor: "va", name: cancelled, at: dec(3), orderID: "A"},
		rich{id: "oB", visitor: "vb", at: at(12, 12), revenue: 80, orderID: "B"},
		rich{id: "rb1", visitor: "vb", name: refunded, at: at(13, 0), revenue: 10, orderID: "B"},
		rich{id: "rb2", visitor: "vb", name: refunded, at: at(14, 0), revenue: -20, orderID: "B"},
		rich{id: "oB2", visitor: "vb", at: at(26, 12), revenue: 25, orderID: "B2"},
		rich{id: "oC", visitor: "vc", at: at(14, 12), revenue: 60, orderID: "C"},
		rich{id: "rc", visitor: "vc", name: refunded, at: at(15, 0), orderID: "C"},
		rich{id: "oD", visitor: "vd", at: at(16, 12), revenue: 40, orderID: "D"},
		rich{id: "rd", visitor: "vd", name: refunded, at: at(17, 0), revenue: 70, orderID: "D"},
		rich{id: "oE", visitor: "ve", at: at(3, 12), revenue: 90, orderID: "E"},
		rich{id: "re", visitor: "ve", name: refunded, at: time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), revenue: 40, orderID: "E"},
		rich{id: "oG", visitor: "vg", at: at(25, 12), revenue: 70, orderID: "G"},
		rich{id: "rg", visitor: "vg", name: refunded, at: dec(5), revenue: 10, orderID: "G"},
		rich{id: "oH", visitor: "vh", at: at(18, 12), revenue: 50, orderID: "H"},
		rh,
		rich{id: "oP1", visitor: "vp1", at: at(5, 12), revenue: 100, orderID: "P1"},
		rich{id: "rp1", visitor: "vp2", name: refunded, at: at(23, 0), revenue: 30, orderID: "P1"},
		rich{id: "oP2", visitor: "vp2", at: at(22, 12), revenue: 40, orderID: "P2"},
		rich{id: "oP3", visitor: "vp2", at: at(23, 12), revenue: 500, orderID: "P3"},
		rich{id: "cP3", visitor: "srv", name: cancelled, at: at(24, 0), orderID: "P3"},
		rich{id: "oN", visitor: "vn", at: at(8, 12), revenue: 10},
		rich{id: "rn", visitor: "vn", name: refunded, at: at(9, 0)},
		rich{id: "pN", visitor: "vn", name: "Order Completed", typ: "page", at: at(8, 13), revenue: 999, orderID: "PG"},
	)
	// The order F, and a redelivery of H's refund in another block.
	insertRich(t, conn, rich{id: "oF", visitor: "vf", at: at(20, 12), revenue: 120, orderID: "F"}, rh)
	var rows uint64
	if err := conn.QueryRow(t.Context(), "SELECT count() FROM events WHERE message_id = 'rh'").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("H's refund is stored %d times (%v), want 2 rows before FINAL", rows, err)
	}
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('vp1', 'u1', '2026-11-05 00:00:00', '2026-11-05 00:00:00', 'identify', 'i1'),
		('vp2', 'u1', '2026-11-22 00:00:00', '2026-11-22 00:00:00', 'identify', 'i2')`)
	insertTouches(t, conn,
		touch{id: "sa", visitor: "va", start: at(10, 0), channel: "Display"},
		touch{id: "sb", visitor: "vb", start: at(12, 0), channel: "Email"},
		touch{id: "sc", visitor: "vc", start: at(14, 0), channel: "Paid Search"},
		touch{id: "sf", visitor: "vf", start: at(20, 0), channel: "Referral"},
		touch{id: "sp2", visitor: "vp2", start: at(22, 0), channel: "Organic Search"},
	)
}

var (
	november = Options{From: date(2026, 11, 1), To: date(2026, 12, 1)}
	// early December has only A's cancellation and G's refund
	earlyDecember = Options{From: date(2026, 12, 2), To: date(2026, 12, 10)}
	january       = Options{From: date(2027, 1, 1), To: date(2027, 2, 1)}
)

func TestRefundsStages(t *testing.T) {
	conn := migratedConn(t)
	refundFixtures(t, conn)
	for _, tc := range []struct {
		name       string
		opts       Options
		purchase   KPIs
		repeatRate float64
	}{
		// 11 orders, 440: AOV 40. Customers 10 of 12 visitors. Repeat: vb
		// only (vp2's second order is cancelled): 1/10.
		{"november", november, KPIs{{"orders", 11}, {"conversion_rate", 10.0 / 12}, {"aov", 40}}, 0.1},
		// Only A's cancellation and G's refund: no order.
		{"only changes", earlyDecember, KPIs{{"orders", 0}, {"conversion_rate", 0}, {"aov", 0}}, 0},
		{"empty", january, KPIs{{"orders", 0}, {"conversion_rate", 0}, {"aov", 0}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Stages(t.Context(), conn, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			all := map[string]float64{}
			for _, s := range got.Stages {
				for _, k := range s.KPIs {
					all[k.Name] = k.Value
				}
			}
			for _, k := range tc.purchase {
				if !near(all[k.Name], k.Value) {
					t.Errorf("%s = %v, want %v", k.Name, all[k.Name], k.Value)
				}
			}
			if !near(all["repeat_purchase_rate"], tc.repeatRate) {
				t.Errorf("repeat_purchase_rate = %v, want %v", all["repeat_purchase_rate"], tc.repeatRate)
			}
		})
	}
}

func TestRefundsAttribution(t *testing.T) {
	conn := migratedConn(t)
	refundFixtures(t, conn)
	got, err := Attribution(t.Context(), conn, november)
	if err != nil {
		t.Fatal(err)
	}
	// Touched: B 50 and B2 25 (Email), C 0 (Paid Search), F 100
	// (Referral), P2 40 (Organic Search). A (Display) and P3 are
	// cancelled: no Display row, nothing for P3.
	if got.Conversions != 11 || !near(got.Revenue, 440) || got.AttributedConversions != 5 || !near(got.AttributedRevenue, 215) {
		t.Errorf("totals = %d %v %d %v, want 11 440 5 215", got.Conversions, got.Revenue, got.AttributedConversions, got.AttributedRevenue)
	}
	one := func(c, r float64) credits { return credits{{c, r}, {c, r}, {c, r}, {c, r}, {c, r}} }
	checkCredits(t, got, map[string]credits{
		"Email":          one(2, 75),
		"Organic Search": one(1, 40),
		"Paid Search":    one(1, 0),
		"Referral":       one(1, 100),
	})

	for _, opts := range []Options{earlyDecember, january} {
		got, err := Attribution(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Conversions != 0 || got.Revenue != 0 || got.AttributedConversions != 0 || got.AttributedRevenue != 0 || len(got.Rows) != 0 {
			t.Errorf("%s..%s: %+v, want nothing", opts.From, opts.To, got)
		}
	}
}

func TestRefundsSegments(t *testing.T) {
	conn := migratedConn(t)
	refundFixtures(t, conn)
	got, err := Segments(t.Context(), conn, november)
	if err != nil {
		t.Fatal(err)
	}
	// Customers by last order: ve 3, vn 8, vc 14, vd 16, vh 18, vf 20, u1
	// 22 (P2; P3 is cancelled), vg 25, vb 26: R = 1 + floor(5 (rank - 1) /
	// 9) = 1 1 2 2 3 3 4 4 5. F: vb and u1 have 2 orders (rank 8: 4), the
	// rest 1. M by net revenue: vc vd 0 (1), vn 10, vh 35 (2), ve 50, vg 60
	// (3), vb 75, vf 100 (4), u1 110 (5).
	want := []string{
		"u1 [vp1 vp2] 2 110 55 2026-11-22T12:00 4 4 5 Champions",
		"vf [vf] 1 100 100 2026-11-20T12:00 3 1 4 Promising",
		"vb [vb] 2 75 37.5 2026-11-26T12:00 5 4 4 Champions",
		"vg [vg] 1 60 60 2026-11-25T12:00 4 1 3 New",
		"ve [ve] 1 50 50 2026-11-03T12:00 1 1 3 Hibernating",
		"vh [vh] 1 35 35 2026-11-18T12:00 3 1 2 Promising",
		"vn [vn] 1 10 10 2026-11-08T12:00 1 1 2 Hibernating",
		"vc [vc] 1 0 0 2026-11-14T12:00 2 1 1 Hibernating",
		"vd [vd] 1 0 0 2026-11-16T12:00 2 1 1 Hibernating",
	}
	var lines []string
	for _, c := range got.List {
		lines = append(lines, fmt.Sprintf("%s %v %d %v %v %s %d %d %d %s", c.CustomerID, c.VisitorIDs, c.Orders, c.Revenue, c.AOV,
			c.LastOrder.UTC().Format("2006-01-02T15:04"), c.R, c.F, c.M, c.Segment))
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("customers =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got.Customers != 9 || got.Orders != 11 || !near(got.Revenue, 440) {
		t.Errorf("summary = %d customers, %d orders, %v, want 9 11 440", got.Customers, got.Orders, got.Revenue)
	}

	for _, opts := range []Options{earlyDecember, january} {
		got, err := Segments(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Customers != 0 || got.Orders != 0 || got.Revenue != 0 || len(got.List) != 0 {
			t.Errorf("%s..%s: %+v, want nobody", opts.From, opts.To, got)
		}
	}
}

// TestRefundsAcrossSites: a refund or cancellation counts whatever the
// source it came in through (a backend's write key), also when the report
// keeps one site.
func TestRefundsAcrossSites(t *testing.T) {
	conn := migratedConn(t)
	at := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	insertRich(t, conn,
		rich{id: "oS", visitor: "vs", at: at(2), revenue: 100, orderID: "S", site: "shop"},
		rich{id: "rS", visitor: "server", name: refunded, at: at(3), revenue: 40, orderID: "S", site: "backend"},
		rich{id: "oT", visitor: "vs", at: at(4), revenue: 30, orderID: "T", site: "shop"},
		rich{id: "cT", visitor: "server", name: cancelled, at: at(5), orderID: "T", site: "backend"},
		// another site's order: not in the shop's numbers
		rich{id: "oU", visitor: "vu", at: at(6), revenue: 7, orderID: "U", site: "blog"},
	)
	for _, tc := range []struct {
		site    string
		orders  uint64
		revenue float64
	}{{"shop", 1, 60}, {"backend", 0, 0}, {"", 2, 67}} {
		opts := november
		opts.Site = tc.site
		a, err := Attribution(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Segments(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		if a.Conversions != tc.orders || !near(a.Revenue, tc.revenue) || s.Orders != tc.orders || !near(s.Revenue, tc.revenue) {
			t.Errorf("site %q: attribution %d %v, segments %d %v, want %d %v", tc.site, a.Conversions, a.Revenue, s.Orders, s.Revenue, tc.orders, tc.revenue)
		}
	}
}

// TestOrdersDefinedOnce: every query that counts orders reads them from
// the view net_orders (migration 00006), the one definition of an order and
// its net revenue, and none defines cancellations or refunds itself.
// attribution_totals.sql is a companion of attribution.sql (it runs after
// that file's CTEs and counts its conversions), so it reads no orders of
// its own and must define none.
func TestOrdersDefinedOnce(t *testing.T) {
	for _, name := range []string{"stages", "attribution", "attribution_totals", "segments"} {
		b, err := sqlfiles.Queries.ReadFile("queries/" + name + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		var code []string // the SQL without its comments
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") {
				code = append(code, line)
			}
		}
		q := strings.Join(code, "\n")
		if name != "attribution_totals" && !strings.Contains(q, "FROM net_orders") {
			t.Errorf("%s.sql does not read the view net_orders", name)
		}
		if strings.Contains(q, "'Order Refunded'") || strings.Contains(q, "'Order Cancelled'") {
			t.Errorf("%s.sql defines refunds or cancellations itself", name)
		}
	}
}
