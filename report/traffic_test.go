package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// hit is one row of events with the columns the rollup traffic_daily reads.
type hit struct {
	id, visitor, session, channel, typ, name, site string
	at                                             time.Time
	revenue                                        float64
}

// insertHits inserts events with one INSERT; the materialized view
// traffic_daily_mv fills the rollup from it.
func insertHits(t *testing.T, conn driver.Conn, rows ...hit) {
	t.Helper()
	var values []string
	for _, r := range rows {
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %s, %s, %v)",
			sqlString(r.id), sqlTime(r.at), sqlString(r.name), sqlString(r.typ), sqlString(r.visitor),
			sqlString(r.session), sqlString(r.channel), sqlString(r.site), r.revenue))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, event_name, type, visitor_id, session_id, traffic_channel, write_key, revenue) VALUES "+
		strings.Join(values, ", "))
}

// trafficFixtures: two days in the range (Nov 1 and 2), one before, one
// after. v2 comes through two channels on Nov 1; v3's session s4 spans
// midnight; v1 comes on both days; v4 (site blog) has no session; a page
// named Order Completed is no order; e2 is redelivered.
func trafficFixtures(t *testing.T, conn driver.Conn) {
	t.Helper()
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	page := func(id, visitor, session, channel string, at time.Time) hit {
		return hit{id: id, visitor: visitor, session: session, channel: channel, typ: "page", name: "Home", site: "shop", at: at}
	}
	order := func(id, visitor, session, channel string, at time.Time, revenue float64) hit {
		return hit{id: id, visitor: visitor, session: session, channel: channel, typ: "track", name: "Order Completed", site: "shop", at: at, revenue: revenue}
	}
	e2 := order("e2", "v1", "s1", "Email", at(1, 10, 5), 50)
	insertHits(t, conn,
		page("e0", "v1", "s0", "Email", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)),
		page("e1", "v1", "s1", "Email", at(1, 10, 0)), e2,
		page("e3", "v2", "s2", "Direct", at(1, 11, 0)),
		page("e4", "v2", "s3", "Email", at(1, 12, 0)),
		page("e5", "v3", "s4", "Direct", at(1, 23, 50)),
		page("e6", "v3", "s4", "Direct", at(2, 0, 10)),
		order("e7", "v3", "s4", "Direct", at(2, 0, 20), 30),
		page("e8", "v1", "s5", "Email", at(2, 9, 0)),
		hit{id: "e9", visitor: "v1", session: "s5", channel: "Email", typ: "page", name: "Order Completed", site: "shop", at: at(2, 9, 1), revenue: 99},
		hit{id: "e10", visitor: "v4", channel: "Paid Search", typ: "track", name: "Product Viewed", site: "blog", at: at(2, 10, 0)},
		order("e11", "v3", "s6", "Direct", at(2, 15, 0), 20),
		page("e12", "v5", "s7", "Direct", at(3, 0, 0)),
	)
	insertHits(t, conn, e2) // a redelivery: another block, the same event
}

// trafficLines prints a report as "day channel v s e o rev c rate" lines.
func trafficLines(r *TrafficReport) string {
	line := func(day, channel string, n TrafficNumbers) string {
		return fmt.Sprintf("%s %s %d %d %d %d %.2f %d %.4f", day, channel, n.Visitors, n.Sessions, n.Events, n.Orders, n.Revenue, n.Customers, n.ConversionRate)
	}
	var out []string
	for _, d := range r.Days {
		for _, c := range d.Channels {
			out = append(out, line(d.Day, c.Channel, c.TrafficNumbers))
		}
		out = append(out, line(d.Day, "*", d.Total))
	}
	return strings.Join(append(out, line("all", "*", r.Totals)), "\n")
}

func TestTrafficGolden(t *testing.T) {
	conn := migratedConn(t)
	trafficFixtures(t, conn)
	for _, tc := range []struct {
		name, site string
		from, to   time.Time
		want       string
	}{
		{
			// Nov 1: v2 is one visitor of each of two rows, once in the
			// day's total. Nov 2: s4 (from Nov 1) counts again; e9 is a
			// page, no order; v4 has no session. The range: v1, v3 and
			// s4 once each; 2 customers of 4 visitors.
			"all sites", "", date(2026, 11, 1), date(2026, 11, 3),
			"2026-11-01 Direct 2 2 2 0 0.00 0 0.0000\n" +
				"2026-11-01 Email 2 2 3 1 50.00 1 0.5000\n" +
				"2026-11-01 * 3 4 5 1 50.00 1 0.3333\n" +
				"2026-11-02 Direct 1 2 3 2 50.00 1 1.0000\n" +
				"2026-11-02 Email 1 1 2 0 0.00 0 0.0000\n" +
				"2026-11-02 Paid Search 1 0 1 0 0.00 0 0.0000\n" +
				"2026-11-02 * 3 3 6 2 50.00 1 0.3333\n" +
				"all * 4 6 11 3 100.00 2 0.5000",
		},
		{
			"site shop", "shop", date(2026, 11, 1), date(2026, 11, 3),
			"2026-11-01 Direct 2 2 2 0 0.00 0 0.0000\n" +
				"2026-11-01 Email 2 2 3 1 50.00 1 0.5000\n" +
				"2026-11-01 * 3 4 5 1 50.00 1 0.3333\n" +
				"2026-11-02 Direct 1 2 3 2 50.00 1 1.0000\n" +
				"2026-11-02 Email 1 1 2 0 0.00 0 0.0000\n" +
				"2026-11-02 * 2 3 5 2 50.00 1 0.5000\n" +
				"all * 3 6 10 3 100.00 2 0.6667",
		},
		{
			"site blog, one day", "blog", date(2026, 11, 2), date(2026, 11, 3),
			"2026-11-02 Paid Search 1 0 1 0 0.00 0 0.0000\n" +
				"2026-11-02 * 1 0 1 0 0.00 0 0.0000\n" +
				"all * 1 0 1 0 0.00 0 0.0000",
		},
		{
			"no events", "", date(2027, 1, 1), date(2027, 2, 1),
			"all * 0 0 0 0 0.00 0 0.0000",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Traffic(t.Context(), conn, Options{From: tc.from, To: tc.to, Site: tc.site})
			if err != nil {
				t.Fatal(err)
			}
			if got := trafficLines(r); got != tc.want {
				t.Errorf("traffic =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestTrafficWholeDays(t *testing.T) {
	for _, o := range []Options{
		{From: date(2026, 11, 1).Add(time.Hour), To: date(2026, 11, 3)},
		{From: date(2026, 11, 1), To: date(2026, 11, 3).Add(time.Millisecond)},
		// Midnight in another zone is not midnight UTC.
		{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)), To: date(2026, 11, 3)},
	} {
		if _, err := Traffic(t.Context(), nil, o); !errors.Is(err, ErrNotWholeDays) {
			t.Errorf("Traffic(%v, %v): %v, want ErrNotWholeDays", o.From, o.To, err)
		}
	}
	if _, err := Traffic(t.Context(), nil, Options{From: date(2026, 11, 3), To: date(2026, 11, 1)}); err == nil {
		t.Error("Traffic with from after to: no error")
	}
}

func TestTrafficOutput(t *testing.T) {
	conn := migratedConn(t)
	trafficFixtures(t, conn)
	r, err := Run(t.Context(), conn, KindTraffic, Options{From: date(2026, 11, 2), To: date(2026, 11, 3), Site: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var j struct {
		From, To string
		Days     []struct {
			Day      string
			Channels []map[string]any
			Total    map[string]any
		}
		Totals map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if j.From != "2026-11-02" || j.To != "2026-11-03" || len(j.Days) != 1 || len(j.Days[0].Channels) != 2 ||
		j.Days[0].Channels[0]["channel"] != "Direct" || j.Days[0].Channels[0]["revenue"] != 50.0 ||
		j.Days[0].Channels[0]["conversion_rate"] != 1.0 || j.Totals["visitors"] != 2.0 || j.Days[0].Total["orders"] != 2.0 {
		t.Errorf("json:\n%s", b.String())
	}

	b.Reset()
	if err := Write(&b, r, FormatCSV); err != nil {
		t.Fatal(err)
	}
	wantCSV := "day,channel,visitors,sessions,events,orders,revenue,customers,conversion_rate\n" +
		"2026-11-02,Direct,1,2,3,2,50,1,1\n" +
		"2026-11-02,Email,1,1,2,0,0,0,0\n" +
		"2026-11-02,(all),2,3,5,2,50,1,0.5\n" +
		"(all),(all),2,3,5,2,50,1,0.5\n"
	if b.String() != wantCSV {
		t.Errorf("csv =\n%s\nwant\n%s", b.String(), wantCSV)
	}

	for _, f := range []Format{FormatTable, FormatHTML} {
		b.Reset()
		if err := Write(&b, r, f); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"ORDERS (GROSS)", "2026-11-02 .. 2026-11-02", "Direct", "50.00", "100.0%"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s lacks %q:\n%s", f, want, b.String())
			}
		}
	}
}
