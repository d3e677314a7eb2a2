package report

import (
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// distinctColumn returns the distinct values of a column of events.
func distinctColumn(t *testing.T, conn driver.Conn, column string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT DISTINCT toString("+column+") FROM events FINAL ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// retentionSum adds reports cell by cell (cohort size, and active and
// purchasers per offset), as a breakdown's rows add up to the whole.
func retentionSum(reports []*RetentionReport) *RetentionReport {
	byCohort := map[string]*RetentionCohort{}
	var order []string
	for _, r := range reports {
		for _, c := range r.Cohorts {
			s, ok := byCohort[c.Cohort]
			if !ok {
				s = &RetentionCohort{Cohort: c.Cohort, Periods: make([]RetentionPeriod, len(c.Periods))}
				byCohort[c.Cohort] = s
				order = append(order, c.Cohort)
			}
			s.Size += c.Size
			for i, p := range c.Periods {
				s.Periods[i].Offset = p.Offset
				s.Periods[i].Active += p.Active
				s.Periods[i].Purchasers += p.Purchasers
			}
		}
	}
	slices.Sort(order)
	sum := &RetentionReport{}
	for _, k := range order {
		sum.Cohorts = append(sum.Cohorts, *byCohort[k])
	}
	for i := range sum.Cohorts {
		c := &sum.Cohorts[i]
		for j := range c.Periods {
			c.Periods[j].ActiveShare = float64(c.Periods[j].Active) / float64(c.Size)
			c.Periods[j].PurchaserShare = float64(c.Periods[j].Purchasers) / float64(c.Size)
		}
	}
	return sum
}

// TestRetentionFilter checks the report filter of the retention report
// against hand-computed cohorts: a unit is kept when its cohort entry event
// (its first event, or its first Order Completed; ties by message_id; by
// person over all its devices) passes, and its later activity and
// purchases count whatever their channel. Weeks of Nov 2, 9, 16 and 23;
// range Nov 2..30. Entry events by visitor (first visit / first purchase):
//
//	a  Email email plan=pro      / Direct web (Nov 17); returns Nov 10 via Direct
//	b  Organic Search web        / Email email plan=pro (Nov 5); then Email, and a Direct order Nov 19
//	c  Paid Search app n=10 (tie with an Email web event, larger message_id) / none
//	d  Email email               / SMS sms (Nov 12)
//	e  Email, first seen Oct 20: in no cohort
//	f  Direct web                / Email email plan=basic (Nov 24)
//	g  Organic Social social     / none; returns Nov 10 via Direct
//	h  Email web                 / Email web (Nov 18)
//
// g and h are person u1, whose first events tie (Nov 3 09:00): h's has the
// smaller message_id, so u1's entry is Email web, though the events sorted
// by (visitor_id, message_id) put g's first.
func TestRetentionFilter(t *testing.T) {
	conn := migratedConn(t)
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	const order = "Order Completed"
	// The rows without a name are page views ("Home").
	insertFull(t, conn, unnamedAsHome(
		fev{id: "a1", visitor: "a", at: at(3, 10), channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`},
		fev{id: "a2", visitor: "a", at: at(10, 10), channel: "Direct", touchpoint: "web"},
		fev{id: "a3", visitor: "a", name: order, at: at(17, 10), channel: "Direct", touchpoint: "web", revenue: 10},
		fev{id: "b1", visitor: "b", at: at(4, 10), channel: "Organic Search", touchpoint: "web", props: `{"plan":"free"}`},
		fev{id: "b2", visitor: "b", at: at(4, 11), channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`},
		fev{id: "b3", visitor: "b", name: order, at: at(5, 10), channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`, revenue: 10},
		fev{id: "b4", visitor: "b", name: order, at: at(19, 10), channel: "Direct", touchpoint: "web", revenue: 10},
		// c2 goes in first: the tie is broken by message_id, not by order
		// of arrival.
		fev{id: "c2", visitor: "c", at: at(10, 10), channel: "Email", touchpoint: "web"},
		fev{id: "c1", visitor: "c", at: at(10, 10), channel: "Paid Search", touchpoint: "app", props: `{"n":10}`},
		fev{id: "c3", visitor: "c", at: at(24, 10), channel: "Direct", touchpoint: "web"},
		fev{id: "d1", visitor: "d", at: at(11, 10), channel: "Email", touchpoint: "email"},
		fev{id: "d2", visitor: "d", name: order, at: at(12, 10), channel: "SMS", touchpoint: "sms", revenue: 10},
		fev{id: "d3", visitor: "d", at: at(25, 10), channel: "Direct", touchpoint: "web"},
		fev{id: "e1", visitor: "e", at: time.Date(2026, 10, 20, 10, 0, 0, 0, time.UTC), channel: "Email", touchpoint: "email"},
		fev{id: "e2", visitor: "e", at: at(10, 10), channel: "Email", touchpoint: "email"},
		fev{id: "f1", visitor: "f", at: at(24, 10), channel: "Direct", touchpoint: "web"},
		fev{id: "f2", visitor: "f", name: order, at: at(24, 12), channel: "Email", touchpoint: "email", props: `{"plan":"basic"}`, revenue: 10},
		fev{id: "g1", visitor: "g", at: at(3, 9), channel: "Organic Social", touchpoint: "social"},
		fev{id: "g2", visitor: "g", at: at(10, 10), channel: "Direct", touchpoint: "web"},
		fev{id: "0h", visitor: "h", at: at(3, 9), channel: "Email", touchpoint: "web"},
		fev{id: "h1", visitor: "h", at: at(5, 10), channel: "Email", touchpoint: "web"},
		fev{id: "h2", visitor: "h", name: order, at: at(18, 10), channel: "Email", touchpoint: "web", revenue: 10},
	)...)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('g', 'u1', '2026-11-03 09:00:00', '2026-11-03 09:00:00', 'identify', 'i1'),
		('h', 'u1', '2026-11-05 10:00:00', '2026-11-05 10:00:00', 'identify', 'i2')`)
	run := func(t *testing.T, cohort, by string, f Filter) *RetentionReport {
		t.Helper()
		r, err := Retention(t.Context(), conn, Options{From: date(2026, 11, 2), To: date(2026, 11, 30), Cohort: cohort, By: by, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	email := Filter{Channels: []string{"Email"}}
	for _, c := range []struct {
		name, cohort, by string
		filter           Filter
		want             string
	}{
		{
			// Cohort Nov 2: a b g h; Nov 9: c d; Nov 23: f.
			"first visit unfiltered", CohortFirstVisit, ByVisitor, Filter{},
			"2026-11-02 4 | 4/1 2/0 3/3 0/0\n" +
				"2026-11-09 2 | 2/1 0/0 2/0\n" +
				"2026-11-23 1 | 1/1",
		},
		{
			// a h d: not b (Email only after its Organic Search entry), not
			// c (its Email event ties with c1 and loses). a returns and
			// buys through Direct, d buys through SMS: both count.
			"first visit Email", CohortFirstVisit, ByVisitor, email,
			"2026-11-02 2 | 2/0 1/0 2/2 0/0\n" +
				"2026-11-09 1 | 1/1 0/0 1/0",
		},
		{
			"first visit Paid Search", CohortFirstVisit, ByVisitor, Filter{Channels: []string{"Paid Search"}},
			"2026-11-09 1 | 1/0 0/0 1/0",
		},
		{
			"first visit Email or Paid Search", CohortFirstVisit, ByVisitor, Filter{Channels: []string{"Email", "Paid Search"}},
			"2026-11-02 2 | 2/0 1/0 2/2 0/0\n" +
				"2026-11-09 2 | 2/1 0/0 2/0",
		},
		{
			// b h f (c's web event is not its entry).
			"first visit touchpoint web", CohortFirstVisit, ByVisitor, Filter{Touchpoints: []string{"web"}},
			"2026-11-02 2 | 2/1 0/0 2/2 0/0\n" +
				"2026-11-23 1 | 1/1",
		},
		{
			"first visit touchpoint app", CohortFirstVisit, ByVisitor, Filter{Touchpoints: []string{"app"}},
			"2026-11-09 1 | 1/0 0/0 1/0",
		},
		{
			// a; b's plan=pro events are not its entry.
			"first visit plan=pro", CohortFirstVisit, ByVisitor, Filter{Where: []Property{{"plan", "pro"}}},
			"2026-11-02 1 | 1/0 1/0 1/1 0/0",
		},
		{
			// A number compared by its JSON text: c.
			"first visit n=10", CohortFirstVisit, ByVisitor, Filter{Where: []Property{{"n", "10"}}},
			"2026-11-09 1 | 1/0 0/0 1/0",
		},
		{
			"first visit Email and plan=pro", CohortFirstVisit, ByVisitor, Filter{Channels: []string{"Email"}, Where: []Property{{"plan", "pro"}}},
			"2026-11-02 1 | 1/0 1/0 1/1 0/0",
		},
		{
			// d's order came through SMS, but it is no entry: nobody.
			"first visit SMS", CohortFirstVisit, ByVisitor, Filter{Channels: []string{"SMS"}},
			"",
		},
		{
			"first visit Email and app", CohortFirstVisit, ByVisitor, Filter{Channels: []string{"Email"}, Touchpoints: []string{"app"}},
			"",
		},
		{
			// u1 = g + h, entry g1.
			"first visit by person unfiltered", CohortFirstVisit, ByPerson, Filter{},
			"2026-11-02 3 | 3/1 2/0 3/3 0/0\n" +
				"2026-11-09 2 | 2/1 0/0 2/0\n" +
				"2026-11-23 1 | 1/1",
		},
		{
			// a d and u1, whose entry is h's Email visit: g's Direct
			// visit on another device makes it active in week 1.
			"first visit by person Email", CohortFirstVisit, ByPerson, email,
			"2026-11-02 2 | 2/0 2/0 2/2 0/0\n" +
				"2026-11-09 1 | 1/1 0/0 1/0",
		},
		{
			// g's first visit is u1's first time too, but loses the tie.
			"first visit by person Organic Social", CohortFirstVisit, ByPerson, Filter{Channels: []string{"Organic Social"}},
			"",
		},
		{
			"first visit by visitor Organic Social", CohortFirstVisit, ByVisitor, Filter{Channels: []string{"Organic Social"}},
			"2026-11-02 1 | 1/0 1/0 0/0 0/0",
		},
		{
			// Cohort Nov 2: b; Nov 9: d; Nov 16: a h; Nov 23: f.
			"first purchase unfiltered", CohortFirstPurchase, ByVisitor, Filter{},
			"2026-11-02 1 | 1/1 0/0 1/1 0/0\n" +
				"2026-11-09 1 | 1/1 0/0 1/0\n" +
				"2026-11-16 2 | 2/2 0/0\n" +
				"2026-11-23 1 | 1/1",
		},
		{
			// b h f by their first order; b's repeat order through Direct
			// counts. a and d (first visits through Email) are out.
			"first purchase Email", CohortFirstPurchase, ByVisitor, email,
			"2026-11-02 1 | 1/1 0/0 1/1 0/0\n" +
				"2026-11-16 1 | 1/1 0/0\n" +
				"2026-11-23 1 | 1/1",
		},
		{
			"first purchase SMS", CohortFirstPurchase, ByVisitor, Filter{Channels: []string{"SMS"}},
			"2026-11-09 1 | 1/1 0/0 1/0",
		},
		{
			// b (f's first order has plan basic).
			"first purchase plan=pro", CohortFirstPurchase, ByVisitor, Filter{Where: []Property{{"plan", "pro"}}},
			"2026-11-02 1 | 1/1 0/0 1/1 0/0",
		},
		{
			"first purchase Paid Search", CohortFirstPurchase, ByVisitor, Filter{Channels: []string{"Paid Search"}},
			"",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := retentionLines(run(t, c.cohort, c.by, c.filter)); got != c.want {
				t.Errorf("retention =\n%s\nwant\n%s", got, c.want)
			}
		})
	}

	// The filtered reports are the rows of a breakdown by the entry
	// event's channel (or touchpoint): each unit has one entry event, so
	// the reports of every value add up, cell by cell, to the unfiltered
	// one.
	for _, dim := range []string{"traffic_channel", "touchpoint"} {
		values := distinctColumn(t, conn, dim)
		for _, cohort := range []string{CohortFirstVisit, CohortFirstPurchase} {
			for _, by := range []string{ByVisitor, ByPerson} {
				t.Run("partition "+dim+" "+cohort+" "+by, func(t *testing.T) {
					var parts []*RetentionReport
					for _, v := range values {
						f := Filter{Channels: []string{v}}
						if dim == "touchpoint" {
							f = Filter{Touchpoints: []string{v}}
						}
						parts = append(parts, run(t, cohort, by, f))
					}
					whole := retentionLines(run(t, cohort, by, Filter{}))
					if got := retentionLines(retentionSum(parts)); got != whole || whole == "" {
						t.Errorf("the %s reports of %q add up to\n%s\nwant the unfiltered\n%s", dim, values, got, whole)
					}
				})
			}
		}
	}

	t.Run("view unchanged", func(t *testing.T) {
		// The view is the unfiltered text, called without the filter's
		// parameters: cohort Nov 2 has a b g h.
		var size uint64
		if err := conn.QueryRow(t.Context(),
			`SELECT size FROM report_retention(from = '2026-11-02 00:00:00.000', to = '2026-11-30 00:00:00.000', site = '', cohort = 'first-visit', period = 'week', by = 'visitor') ORDER BY cohort, period_offset LIMIT 1`).Scan(&size); err != nil || size != 4 {
			t.Errorf("report_retention: size %d, %v; want 4", size, err)
		}
	})
}
