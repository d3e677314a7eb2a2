package report

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// retentionFixtures: weeks start on Monday; 2026-11-02, 09, 16, 23 and 30
// are Mondays.
func retentionFixtures(t *testing.T, conn driver.Conn) {
	t.Helper()
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	page := func(id, visitor string, at time.Time) rich {
		return rich{id: id, visitor: visitor, typ: "page", at: at}
	}
	order := func(id, visitor string, at time.Time) rich {
		return rich{id: id, visitor: visitor, at: at, revenue: 10}
	}
	insertRich(t, conn,
		page("1", "v1", at(3, 10)), page("2", "v1", at(10, 10)), order("3", "v1", at(24, 10)), page("4", "v1", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)),
		page("5", "v2", at(4, 9)), order("6", "v2", at(4, 10)), order("7", "v2", at(18, 10)),
		page("8", "v3", at(5, 10)),
		page("9", "v4", at(1, 10)), page("10", "v4", at(3, 10)), order("11", "v4", at(10, 10)), page("12", "v4", at(17, 10)),
		page("13", "v5", at(11, 10)), order("14", "v5", at(12, 10)), page("15", "v5", at(25, 10)),
		page("16", "v6", at(29, 23)),
		page("17", "v7", at(30, 0)),
		page("18", "v9", time.Date(2026, 10, 15, 10, 0, 0, 0, time.UTC)), page("19", "v9", at(20, 10)),
	)
	// A redelivered event counts once (events FINAL).
	insertRich(t, conn, page("13", "v5", at(11, 10)))
}

// retentionLines prints a report as "cohort size | offset:active/purchasers ...".
func retentionLines(r *RetentionReport) string {
	var lines []string
	for _, c := range r.Cohorts {
		line := fmt.Sprintf("%s %d |", c.Cohort, c.Size)
		for i, p := range c.Periods {
			if uint64(i) != p.Offset || !near(p.ActiveShare, float64(p.Active)/float64(c.Size)) || !near(p.PurchaserShare, float64(p.Purchasers)/float64(c.Size)) {
				line += " BAD"
			}
			line += fmt.Sprintf(" %d/%d", p.Active, p.Purchasers)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func TestRetentionGolden(t *testing.T) {
	conn := migratedConn(t)
	retentionFixtures(t, conn)
	for _, tc := range []struct {
		name           string
		from, to       time.Time
		cohort, period string
		want           string
	}{
		{
			// v4 first came before from: in no cohort. Nobody first came in
			// the week of Nov 16. v7 (Nov 30) is at `to`; v1's Dec 1 visit
			// is after it.
			"first visit by week", date(2026, 11, 2), date(2026, 11, 30), "", "",
			"2026-11-02 3 | 3/1 1/0 1/1 1/1\n" +
				"2026-11-09 1 | 1/1 0/0 1/0\n" +
				"2026-11-23 1 | 1/0",
		},
		{
			// v4's visits before its first order (weeks of Oct 26, Nov 2)
			// are before its cohort: not counted.
			"first purchase by week", date(2026, 11, 2), date(2026, 11, 30), CohortFirstPurchase, PeriodWeek,
			"2026-11-02 1 | 1/1 0/0 1/1 0/0\n" +
				"2026-11-09 2 | 2/2 1/0 1/0\n" +
				"2026-11-23 1 | 1/1",
		},
		{
			"first visit by month", date(2026, 10, 1), date(2026, 12, 1), CohortFirstVisit, PeriodMonth,
			"2026-10-01 1 | 1/0 1/0\n" +
				"2026-11-01 7 | 7/4",
		},
		{"nobody", date(2027, 1, 1), date(2027, 2, 1), "", PeriodMonth, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Retention(t.Context(), conn, Options{From: tc.from, To: tc.to, Cohort: tc.cohort, Period: tc.period})
			if err != nil {
				t.Fatal(err)
			}
			if s := retentionLines(got); s != tc.want {
				t.Errorf("retention =\n%s\nwant\n%s", s, tc.want)
			}
		})
	}
}

func TestRetentionOptions(t *testing.T) {
	for _, o := range []Options{{Cohort: "first-order"}, {Period: "day"}, {}} {
		if o.Cohort != "" || o.Period != "" {
			o.From, o.To = date(2026, 11, 1), date(2026, 12, 1)
		}
		if _, err := Retention(t.Context(), nil, o); err == nil {
			t.Errorf("Retention(%+v): no error", o)
		}
	}
	bySession := Options{From: date(2026, 11, 1), To: date(2026, 12, 1), By: "session"}
	if _, err := Retention(t.Context(), nil, bySession); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Retention by session: %v, want ErrNotSupported", err)
	}
	r := &RetentionReport{Cohort: CohortFirstVisit, Period: PeriodWeek, Cohorts: []RetentionCohort{
		{Cohort: "2026-11-02", Size: 4, Periods: []RetentionPeriod{{0, 4, 1, 1, 0.25}, {1, 2, 0.5, 0, 0}}}}}
	var b bytes.Buffer
	if err := Write(&b, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	want := `{"cohort":"first-visit","period":"week","cohorts":[{"cohort":"2026-11-02","size":4,"periods":[` +
		`{"offset":0,"active":4,"active_share":1,"purchasers":1,"purchaser_share":0.25},` +
		`{"offset":1,"active":2,"active_share":0.5,"purchasers":0,"purchaser_share":0}]}]}` + "\n"
	if b.String() != want {
		t.Errorf("json:\n got %s\nwant %s", b.String(), want)
	}
	b.Reset()
	if err := Write(&b, r, FormatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2026-11-02") || !strings.Contains(b.String(), "50.0%") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestRetentionByPerson: person u1 visits and buys on a phone p (Nov 3
// and 4, week of Nov 2), then comes on a laptop l (Nov 10) and buys on it
// (Nov 17). z is linked to nobody (Nov 10, Nov 24). Range: Nov 2..30.
func TestRetentionByPerson(t *testing.T) {
	conn := migratedConn(t)
	at := func(d int) time.Time { return time.Date(2026, 11, d, 10, 0, 0, 0, time.UTC) }
	insertRich(t, conn,
		rich{id: "1", visitor: "p", typ: "page", at: at(3)},
		rich{id: "2", visitor: "p", at: at(4), revenue: 10},
		rich{id: "3", visitor: "l", typ: "page", at: at(10)},
		rich{id: "4", visitor: "l", at: at(17), revenue: 20},
		rich{id: "5", visitor: "z", typ: "page", at: at(10)},
		rich{id: "6", visitor: "z", typ: "page", at: at(24)},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('p', 'u1', '2026-11-03 10:00:00', '2026-11-03 10:00:00', 'identify', 'i1'),
		('l', 'u1', '2026-11-10 10:00:00', '2026-11-10 10:00:00', 'identify', 'i2')`)
	for _, tc := range []struct {
		name, cohort, by string
		want             string
	}{
		{
			// The laptop is a new visitor of the week of Nov 9.
			"first visit by visitor", CohortFirstVisit, "",
			"2026-11-02 1 | 1/1 0/0 0/0 0/0\n" +
				"2026-11-09 2 | 2/0 1/1 1/0",
		},
		{
			// u1 came first on Nov 3: its laptop visits are its weeks 1
			// and 2, a repeat purchase in week 2.
			"first visit by person", CohortFirstVisit, ByPerson,
			"2026-11-02 1 | 1/1 1/0 1/1 0/0\n" +
				"2026-11-09 1 | 1/0 0/0 1/0",
		},
		{
			"first purchase by visitor", CohortFirstPurchase, ByVisitor,
			"2026-11-02 1 | 1/1 0/0 0/0 0/0\n" +
				"2026-11-16 1 | 1/1 0/0",
		},
		{
			"first purchase by person", CohortFirstPurchase, ByPerson,
			"2026-11-02 1 | 1/1 1/0 1/1 0/0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Retention(t.Context(), conn, Options{From: date(2026, 11, 2), To: date(2026, 11, 30), Cohort: tc.cohort, By: tc.by})
			if err != nil {
				t.Fatal(err)
			}
			if got := retentionLines(r); got != tc.want {
				t.Errorf("retention =\n%s\nwant\n%s", got, tc.want)
			}
			var b bytes.Buffer
			if err := Write(&b, r, FormatJSON); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(b.String(), `"by":"person"`); got != (tc.by == ByPerson) {
				t.Errorf("json by: %s", b.String())
			}
		})
	}
	if _, err := Retention(t.Context(), conn, Options{From: date(2026, 11, 2), To: date(2026, 11, 30), By: "device"}); err == nil {
		t.Error("by device: no error")
	}
}
