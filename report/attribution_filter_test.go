package report

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// attributionFilterFixtures are four conversions in November whose order
// events differ in channel, touchpoint and properties, and whose touches
// (sessions) come through other channels:
//
//	oa: a, 100, order event Direct/web {category: shoes}; touches Organic
//	    Search (Nov 1), Email (Nov 8), Direct (Nov 15, the order's)
//	ob: b, 50, order event SMS/app {category: hats} (redelivered: the
//	    first version said Email/web shoes); touches Paid Search (2.5 days
//	    before), SMS (0.5 days before)
//	oc: c, 30, order event Email/app {category: shoes, size: 42}; touch
//	    Email
//	oe: e, 5, order event Organic Search/web {category: shoes}; no session
//	    of its own (by person: e is a's device, so a's Organic Search
//	    session of Nov 1 is its touch)
//
// plus what no filter may keep: a cancelled Email/app order of c, an
// Email/app order of a in December (outside the range), and a Product
// Added of a in the app with category hats (not an order).
func attributionFilterFixtures(t *testing.T, conn driver.Conn) {
	t.Helper()
	day := func(d int) time.Time { return date(2026, 11, d) }
	insertTouches(t, conn,
		touch{id: "a1", visitor: "a", start: day(1), channel: "Organic Search", touchpoint: "web"},
		touch{id: "a2", visitor: "a", start: day(8), channel: "Email", touchpoint: "email"},
		touch{id: "a3", visitor: "a", start: day(15), channel: "Direct", touchpoint: "web"},
		touch{id: "b1", visitor: "b", start: day(10), channel: "Paid Search", touchpoint: "web"},
		touch{id: "b2", visitor: "b", start: day(12), channel: "SMS", touchpoint: "sms"},
		touch{id: "c1", visitor: "c", start: day(20), channel: "Email", touchpoint: "email"},
	)
	earlier := time.Now().Add(-time.Hour)
	const order = "Order Completed"
	insertFull(t, conn,
		fev{id: "oa", visitor: "a", name: order, at: day(15), revenue: 100, channel: "Direct", touchpoint: "web", props: `{"category":"shoes"}`},
		fev{id: "ob", visitor: "b", name: order, at: day(12).Add(12 * time.Hour), revenue: 50, channel: "Email", touchpoint: "web",
			props: `{"category":"shoes"}`, insertedAt: earlier},
		fev{id: "oc", visitor: "c", name: order, at: day(21), revenue: 30, channel: "Email", touchpoint: "app", props: `{"category":"shoes","size":42}`},
		fev{id: "oe", visitor: "e", name: order, at: day(5), revenue: 5, channel: "Organic Search", touchpoint: "web", props: `{"category":"shoes"}`},
		fev{id: "ox", visitor: "c", name: order, at: day(22), revenue: 70, orderID: "X", channel: "Email", touchpoint: "app", props: `{"category":"shoes","size":42}`},
		fev{id: "ox-cancel", visitor: "c", name: "Order Cancelled", at: day(23), orderID: "X"},
		fev{id: "oa-dec", visitor: "a", name: order, at: date(2026, 12, 2), revenue: 1000, channel: "Email", touchpoint: "app", props: `{"category":"shoes","size":42}`},
		fev{id: "pa", visitor: "a", name: "Product Added", at: day(14), channel: "SMS", touchpoint: "app", props: `{"category":"hats"}`},
	)
	insertFull(t, conn,
		fev{id: "ob", visitor: "b", name: order, at: day(12).Add(12 * time.Hour), revenue: 50, channel: "SMS", touchpoint: "app", props: `{"category":"hats"}`},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('a', 'u1', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'identify', 'i1'),
		('e', 'u1', '2026-11-05 00:00:00', '2026-11-05 00:00:00', 'identify', 'i2')`)
}

// attributionTotals are a report's conversions, revenue, attributed
// conversions and attributed revenue.
type attributionTotals struct {
	conversions uint64
	revenue     float64
	attributed  uint64
	attrRevenue float64
}

func checkAttributionTotals(t *testing.T, got *AttributionReport, want attributionTotals) {
	t.Helper()
	if got.Conversions != want.conversions || !near(got.Revenue, want.revenue) ||
		got.AttributedConversions != want.attributed || !near(got.AttributedRevenue, want.attrRevenue) {
		t.Errorf("totals = %d %v %d %v, want %d %v %d %v", got.Conversions, got.Revenue, got.AttributedConversions,
			got.AttributedRevenue, want.conversions, want.revenue, want.attributed, want.attrRevenue)
	}
}

// addCredits adds row's credits (every model) to sum[row.Value].
func addCredits(sum map[string]credits, r *AttributionReport) {
	for _, row := range r.Rows {
		c := sum[row.Value]
		for i, m := range Models {
			c[i][0] += row.credit(m).Conversions
			c[i][1] += row.credit(m).Revenue
		}
		sum[row.Value] = c
	}
}

// TestAttributionFilter checks the report filter of the attribution report
// against hand-computed credits: a conversion is kept when its order event
// passes (its own channel, touchpoint and properties), its touches are
// credited whatever their channel, the totals follow, and the reports
// filtered by each order channel add up to the unfiltered one.
func TestAttributionFilter(t *testing.T) {
	conn := migratedConn(t)
	attributionFilterFixtures(t, conn)
	run := func(t *testing.T, opts Options) *AttributionReport {
		t.Helper()
		opts.From, opts.To = date(2026, 11, 1), date(2026, 12, 1)
		r, err := Attribution(t.Context(), conn, opts)
		if err != nil {
			t.Fatalf("filter %+v: %v", opts.Filter, err)
		}
		return r
	}

	// The credits of each conversion by channel, in the order of Models
	// (first touch, last non-direct, linear, position based, time decay).
	// oa: touches 14, 7 and 0 days before: time decay weights 1/4, 1/2, 1
	// of 7/4. ob: touches 2.5 and 0.5 days before: Paid Search's time-decay
	// share is r. oc: one touch.
	r := 1 / (1 + math.Pow(2, 2.0/7))
	oa := map[string]credits{
		"Organic Search": {{1, 100}, {0, 0}, {1.0 / 3, 100.0 / 3}, {0.4, 40}, {1.0 / 7, 100.0 / 7}},
		"Email":          {{0, 0}, {1, 100}, {1.0 / 3, 100.0 / 3}, {0.2, 20}, {2.0 / 7, 200.0 / 7}},
		"Direct":         {{0, 0}, {0, 0}, {1.0 / 3, 100.0 / 3}, {0.4, 40}, {4.0 / 7, 400.0 / 7}},
	}
	ob := map[string]credits{
		"Paid Search": {{1, 50}, {0, 0}, {0.5, 25}, {0.5, 25}, {r, 50 * r}},
		"SMS":         {{0, 0}, {1, 50}, {0.5, 25}, {0.5, 25}, {1 - r, 50 * (1 - r)}},
	}
	oc := map[string]credits{
		"Email": {{1, 30}, {1, 30}, {1, 30}, {1, 30}, {1, 30}},
	}
	sum := func(parts ...map[string]credits) map[string]credits {
		out := map[string]credits{}
		for _, p := range parts {
			for v, c := range p {
				s := out[v]
				for i := range c {
					s[i][0] += c[i][0]
					s[i][1] += c[i][1]
				}
				out[v] = s
			}
		}
		return out
	}

	// Unfiltered, as before the filter: the cancelled order, the December
	// order and the Product Added count nowhere.
	all := run(t, Options{})
	checkAttributionTotals(t, all, attributionTotals{4, 185, 3, 180})
	checkCredits(t, all, sum(oa, ob, oc))

	for _, c := range []struct {
		name    string
		f       Filter
		totals  attributionTotals
		credits map[string]credits
	}{
		// oa's order event is Direct: its Organic Search and Email touches
		// are credited too.
		{"channel Direct", Filter{Channels: []string{"Direct"}}, attributionTotals{1, 100, 1, 100}, oa},
		// ob's order event is SMS (its latest version, events FINAL).
		{"channel SMS", Filter{Channels: []string{"SMS"}}, attributionTotals{1, 50, 1, 50}, ob},
		// ob's first version said Email, ox is cancelled: oc alone.
		{"channel Email", Filter{Channels: []string{"Email"}}, attributionTotals{1, 30, 1, 30}, oc},
		// oe has no touch: a conversion, nothing credited.
		{"channel Organic Search", Filter{Channels: []string{"Organic Search"}}, attributionTotals{1, 5, 0, 0}, map[string]credits{}},
		// Touches come through Paid Search, no order event does.
		{"channel Paid Search keeps nothing", Filter{Channels: []string{"Paid Search"}}, attributionTotals{}, map[string]credits{}},
		{"channels Direct or SMS", Filter{Channels: []string{"Direct", "SMS"}}, attributionTotals{2, 150, 2, 150}, sum(oa, ob)},
		// a's Product Added in the app is no order: oa stays out.
		{"touchpoint app", Filter{Touchpoints: []string{"app"}}, attributionTotals{2, 80, 2, 80}, sum(ob, oc)},
		{"touchpoint web", Filter{Touchpoints: []string{"web"}}, attributionTotals{2, 105, 1, 100}, oa},
		// ob's first version had shoes; its latest has hats.
		{"where category=shoes", Filter{Where: []Property{{"category", "shoes"}}}, attributionTotals{3, 135, 2, 130}, sum(oa, oc)},
		{"where category=hats", Filter{Where: []Property{{"category", "hats"}}}, attributionTotals{1, 50, 1, 50}, ob},
		// A JSON number matches its text.
		{"where category=shoes,size=42", Filter{Where: []Property{{"category", "shoes"}, {"size", "42"}}}, attributionTotals{1, 30, 1, 30}, oc},
		{"channel, touchpoint and where", Filter{Channels: []string{"Email", "Direct"}, Touchpoints: []string{"app"}, Where: []Property{{"category", "shoes"}}},
			attributionTotals{1, 30, 1, 30}, oc},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, Options{Filter: c.f})
			checkAttributionTotals(t, got, c.totals)
			checkCredits(t, got, c.credits)
		})
	}

	// The reports filtered by each order channel partition the
	// conversions: they add up to the unfiltered report, row by row and
	// model by model, for every dimension and by person too.
	for _, by := range []string{ByVisitor, ByPerson} {
		for _, dim := range Dimensions {
			t.Run(fmt.Sprintf("channels add up by %s, %s", by, dim), func(t *testing.T) {
				opts := Options{By: by, Dimension: dim}
				whole := run(t, opts)
				parts := map[string]credits{}
				var totals attributionTotals
				for _, ch := range []string{"Direct", "SMS", "Email", "Organic Search"} {
					opts.Filter = Filter{Channels: []string{ch}}
					got := run(t, opts)
					addCredits(parts, got)
					totals.conversions += got.Conversions
					totals.revenue += got.Revenue
					totals.attributed += got.AttributedConversions
					totals.attrRevenue += got.AttributedRevenue
				}
				checkAttributionTotals(t, whole, totals)
				checkCredits(t, whole, parts)
			})
		}
	}

	// By person, e's order (Organic Search) is credited to its person's
	// other device: a's Organic Search session, 4 days before.
	t.Run("by person", func(t *testing.T) {
		got := run(t, Options{By: ByPerson, Filter: Filter{Channels: []string{"Organic Search"}}})
		checkAttributionTotals(t, got, attributionTotals{1, 5, 1, 5})
		checkCredits(t, got, map[string]credits{
			"Organic Search": {{1, 5}, {1, 5}, {1, 5}, {1, 5}, {1, 5}},
		})
		got = run(t, Options{By: ByPerson})
		checkAttributionTotals(t, got, attributionTotals{4, 185, 4, 185})
		checkCredits(t, got, sum(oa, ob, oc, map[string]credits{
			"Organic Search": {{1, 5}, {1, 5}, {1, 5}, {1, 5}, {1, 5}},
		}))
	})

	// By touchpoint: the credits of the orders placed in the app go to
	// the touches' own touchpoints (web, sms, email).
	t.Run("touchpoint app by touchpoint", func(t *testing.T) {
		got := run(t, Options{Dimension: DimensionTouchpoint, Filter: Filter{Touchpoints: []string{"app"}}})
		checkAttributionTotals(t, got, attributionTotals{2, 80, 2, 80})
		checkCredits(t, got, map[string]credits{
			"web":   ob["Paid Search"],
			"sms":   ob["SMS"],
			"email": oc["Email"],
		})
	})
}
