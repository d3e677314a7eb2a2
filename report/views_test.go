package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
)

// The parameterized views report_time_on_site and report_abandonment
// (clickhouse.Migrate makes them from the same query files) give the
// numbers TimeOnSite and Abandonment give, for every combination of the
// options below.

// viewFixtures inserts sessions and events on two sites, w1 and w2.
func viewFixtures(t *testing.T, conn driver.Conn) {
	t.Helper()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	const (
		added   = "Product Added"
		started = "Checkout Started"
		ordered = "Order Completed"
	)
	insertSessions(t, conn,
		sess{id: "s1", visitor: "a", start: t0, pageViews: 1, version: 1},
		sess{id: "s2", visitor: "b", start: t0, duration: 30 * time.Second, pageViews: 1, engagedMS: 20000, version: 1},
		sess{id: "s3", visitor: "c", start: t0, duration: 2 * time.Minute, pageViews: 3, engagedMS: 60000, version: 1},
		sess{id: "s4", visitor: "d", start: t0, duration: 9 * time.Second, pageViews: 1, engagedMS: 1000, conversions: 1, version: 1},
		sess{id: "s5", visitor: "e", start: t0, duration: time.Hour, pageViews: 9, version: 1},
		sess{id: "s6", visitor: "f", start: date(2026, 10, 31), duration: time.Hour, pageViews: 9, version: 1},
	)
	insertSessions(t, conn,
		sess{id: "s5", visitor: "e", start: t0, duration: time.Hour, pageViews: 9, version: 2, deleted: true},
	)
	insertEvents(t, conn,
		ev{id: "1", visitor: "a", name: added, cart: "k1", session: "s1", site: "w1", at: t0},
		ev{id: "2", visitor: "a", name: ordered, session: "s1", site: "w1", at: t0.Add(2 * time.Hour)},
		ev{id: "3", visitor: "b", name: added, cart: "k2", session: "s2", site: "w1", at: t0},
		ev{id: "4", visitor: "b", name: started, cart: "k2", session: "s2", site: "w1", at: t0.Add(time.Minute)},
		ev{id: "5", visitor: "b", name: ordered, session: "s2", site: "w2", at: t0.Add(30 * time.Hour)},
		ev{id: "6", visitor: "c", name: added, session: "s3", site: "w2", at: t0},
		ev{id: "7", visitor: "c", name: started, session: "s3", site: "w2", at: t0.Add(time.Minute)},
		ev{id: "8", visitor: "d", name: added, cart: "k4", session: "s4", site: "w2", at: t0},
		ev{id: "9", visitor: "d", name: ordered, session: "s4", site: "w2", at: t0.Add(20 * time.Minute)},
		ev{id: "10", visitor: "e", name: added, cart: "k5", session: "s5", site: "w1", at: date(2026, 10, 30)},
	)
}

// viewCases are the options the views are checked with.
func viewCases() []Options {
	var cases []Options
	for _, r := range [][2]time.Time{
		{date(2026, 11, 1), date(2026, 12, 1)},
		{date(2026, 10, 1), date(2026, 12, 1)},
		{date(2027, 1, 1), date(2027, 2, 1)},
	} {
		for _, site := range []string{"", "w1", "w2", "none"} {
			for _, within := range []time.Duration{DefaultWithin, time.Hour, 48 * time.Hour} {
				cases = append(cases, Options{From: r[0], To: r[1], Site: site, Within: within})
			}
		}
	}
	return cases
}

func TestTimeOnSiteView(t *testing.T) {
	conn := migratedConn(t)
	viewFixtures(t, conn)
	for _, o := range viewCases() {
		if o.Within != DefaultWithin {
			continue // time on site takes no within
		}
		name := fmt.Sprintf("%s..%s site=%q", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly), o.Site)
		t.Run(name, func(t *testing.T) {
			want, err := TimeOnSite(t.Context(), conn, o)
			if err != nil {
				t.Fatal(err)
			}
			var (
				got     TimeOnSiteReport
				engaged uint64
			)
			err = conn.QueryRow(t.Context(), fmt.Sprintf(
				`SELECT * FROM report_time_on_site(from = %s, to = %s, site = %s)`,
				sqlTime(o.From), sqlTime(o.To), sqlString(o.Site))).Scan(&got.Sessions,
				&got.DurationSeconds.Mean, &got.DurationSeconds.Median, &got.DurationSeconds.P90,
				&got.EngagedSeconds.Mean, &got.EngagedSeconds.Median, &got.EngagedSeconds.P90,
				&engaged, &got.BounceRate, &got.EngagementRate)
			if err != nil {
				t.Fatalf("report_time_on_site: %v", err)
			}
			checkTimeOnSite(t, &got, *want)
		})
	}

	// The fixtures are not degenerate: the view sees the sessions.
	got, err := TimeOnSite(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Sessions != 4 {
		t.Errorf("fixtures: %d sessions in November, want 4", got.Sessions)
	}
}

func TestAbandonmentView(t *testing.T) {
	conn := migratedConn(t)
	viewFixtures(t, conn)
	for _, o := range viewCases() {
		name := fmt.Sprintf("%s..%s site=%q within=%s", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly), o.Site, o.Within)
		t.Run(name, func(t *testing.T) {
			want, err := Abandonment(t.Context(), conn, o)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := conn.Query(t.Context(), fmt.Sprintf(
				`SELECT * FROM report_abandonment(from = %s, to = %s, site = %s, within_seconds = %d)`,
				sqlTime(o.From), sqlTime(o.To), sqlString(o.Site), seconds(o.Within)))
			if err != nil {
				t.Fatalf("report_abandonment: %v", err)
			}
			defer rows.Close()
			var kinds []string
			got := AbandonmentReport{}
			for rows.Next() {
				var (
					kind string
					c    CartAbandonment
				)
				if err := rows.Scan(&kind, &c.Carts, &c.Abandoned, &c.Recovered, &c.AbandonmentRate); err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, kind)
				switch kind {
				case "cart":
					got.Cart = c
				case "checkout":
					got.Checkout = CheckoutAbandonment{Checkouts: c.Carts, Abandoned: c.Abandoned,
						Recovered: c.Recovered, AbandonmentRate: c.AbandonmentRate}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(kinds) != "[cart checkout]" {
				t.Errorf("report_abandonment kinds %v, want [cart checkout]", kinds)
			}
			checkAbandonment(t, &got, *want)
		})
	}

	got, err := Abandonment(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Cart.Carts != 4 || got.Cart.Recovered != 1 || got.Checkout.Checkouts != 2 {
		t.Errorf("fixtures: November %+v, want 4 carts, 1 recovered, 2 checkouts", *got)
	}
}

// TestAttributionView: report_attribution gives Attribution's rows for
// every dimension and a few lookbacks and ranges.
func TestAttributionView(t *testing.T) {
	conn := migratedConn(t)
	attributionFixtures(t, conn)
	// a and b are one person: by person their touches join.
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('a', 'u', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'identify', 'i1'),
		('b', 'u', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'identify', 'i2')`)
	for _, r := range [][2]time.Time{{date(2026, 11, 1), date(2026, 12, 1)}, {date(2026, 11, 10), date(2026, 11, 18)}, {date(2027, 1, 1), date(2027, 2, 1)}} {
		for _, lookback := range []time.Duration{DefaultLookback, 24 * time.Hour} {
			for _, dim := range Dimensions {
				for _, by := range []string{ByVisitor, ByPerson} {
					o := Options{From: r[0], To: r[1], Lookback: lookback, Dimension: dim, By: by}
					name := fmt.Sprintf("%s..%s %s %s %s", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly), lookback, dim, by)
					t.Run(name, func(t *testing.T) {
						want, err := Attribution(t.Context(), conn, o)
						if err != nil {
							t.Fatal(err)
						}
						rows, err := conn.Query(t.Context(), fmt.Sprintf(
							`SELECT * FROM report_attribution(from = %s, to = %s, site = '', lookback_seconds = %d, dimension = %s, by = %s)`,
							sqlTime(o.From), sqlTime(o.To), seconds(lookback), sqlString(dim), sqlString(by)))
						if err != nil {
							t.Fatalf("report_attribution: %v", err)
						}
						defer rows.Close()
						var got []AttributionRow
						for rows.Next() {
							var (
								row AttributionRow
								c   [5]Credit
							)
							if err := rows.Scan(&row.Value, &c[0].Conversions, &c[0].Revenue, &c[1].Conversions, &c[1].Revenue,
								&c[2].Conversions, &c[2].Revenue, &c[3].Conversions, &c[3].Revenue, &c[4].Conversions, &c[4].Revenue); err != nil {
								t.Fatal(err)
							}
							row.FirstTouch, row.LastNonDirect, row.Linear, row.PositionBased, row.TimeDecay = &c[0], &c[1], &c[2], &c[3], &c[4]
							got = append(got, row)
						}
						if err := rows.Err(); err != nil {
							t.Fatal(err)
						}
						if len(got) != len(want.Rows) {
							t.Fatalf("view: %d rows, report: %d", len(got), len(want.Rows))
						}
						for i, g := range got {
							w := want.Rows[i]
							for _, m := range Models {
								if g.Value != w.Value || !near(g.Credit(m).Conversions, w.Credit(m).Conversions) || !near(g.Credit(m).Revenue, w.Credit(m).Revenue) {
									t.Errorf("row %d %s: view %s %+v, report %s %+v", i, m, g.Value, *g.Credit(m), w.Value, *w.Credit(m))
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestRetentionView: report_retention gives Retention's rows.
func TestRetentionView(t *testing.T) {
	conn := migratedConn(t)
	retentionFixtures(t, conn)
	// v1 and v4 are one person: by person its cohort moves.
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('v1', 'u', '2026-11-03 10:00:00', '2026-11-03 10:00:00', 'identify', 'i1'),
		('v4', 'u', '2026-11-03 10:00:00', '2026-11-03 10:00:00', 'identify', 'i2')`)
	for _, r := range [][2]time.Time{{date(2026, 11, 2), date(2026, 11, 30)}, {date(2026, 10, 1), date(2026, 12, 1)}} {
		for _, cohort := range []string{CohortFirstVisit, CohortFirstPurchase} {
			for _, period := range []string{PeriodWeek, PeriodMonth} {
				for _, by := range []string{ByVisitor, ByPerson} {
					o := Options{From: r[0], To: r[1], Cohort: cohort, Period: period, By: by}
					want, err := Retention(t.Context(), conn, o)
					if err != nil {
						t.Fatal(err)
					}
					rows, err := conn.Query(t.Context(), fmt.Sprintf(
						`SELECT * FROM report_retention(from = %s, to = %s, site = '', cohort = %s, period = %s, by = %s)`,
						sqlTime(o.From), sqlTime(o.To), sqlString(cohort), sqlString(period), sqlString(by)))
					if err != nil {
						t.Fatalf("report_retention: %v", err)
					}
					var got []string
					for rows.Next() {
						var (
							c                       time.Time
							size, k, active, buyers uint64
							activeShare, buyerShare float64
						)
						if err := rows.Scan(&c, &size, &k, &active, &activeShare, &buyers, &buyerShare); err != nil {
							t.Fatal(err)
						}
						got = append(got, fmt.Sprintf("%s %d %d %d %.6f %d %.6f", c.Format(time.DateOnly), size, k, active, activeShare, buyers, buyerShare))
					}
					rows.Close()
					var wantRows []string
					for _, c := range want.Cohorts {
						for _, p := range c.Periods {
							wantRows = append(wantRows, fmt.Sprintf("%s %d %d %d %.6f %d %.6f", c.Cohort, c.Size, p.Offset, p.Active, p.ActiveShare, p.Purchasers, p.PurchaserShare))
						}
					}
					if len(wantRows) == 0 || strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
						t.Errorf("%+v: view\n%s\nreport\n%s", o, strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
					}
				}
			}
		}
	}
}

// TestCompanionViews: each companion view (report_abandonment_daily, ...)
// returns the rows of the companion query as the report runs it (opts.Detail,
// no filter), for every case of viewCases; and the fixtures give every
// detail table rows with numbers in them.
func TestCompanionViews(t *testing.T) {
	views, err := Views()
	if err != nil {
		t.Fatal(err)
	}
	conn := migratedConnWith(t, clickhouse.MigrateConfig{Views: views})
	viewFixtures(t, conn)
	// rowsOf returns the rows of query as sorted strings.
	rowsOf := func(t *testing.T, query string, params ...any) []string {
		t.Helper()
		var out []string
		err := conn.QueryRow(t.Context(), "SELECT arraySort(groupArray(toString(tuple(*)))) FROM ("+query+")", params...).Scan(&out)
		if err != nil {
			t.Fatalf("%.80s: %v", query, err)
		}
		return out
	}
	for _, c := range companionViews {
		direct, err := c.sql()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range viewCases() {
			if c.base == "time_on_site" && o.Within != DefaultWithin {
				continue
			}
			name := fmt.Sprintf("%s %s..%s site=%q within=%s", c.view(), o.From.Format(time.DateOnly), o.To.Format(time.DateOnly), o.Site, o.Within)
			t.Run(name, func(t *testing.T) {
				params := o.rangeParams()
				args := fmt.Sprintf("from = %s, to = %s, site = %s", sqlTime(o.From), sqlTime(o.To), sqlString(o.Site))
				if c.base == "abandonment" {
					params = append(params, chgo.Named("within_seconds", seconds(o.Within)))
					args += fmt.Sprintf(", within_seconds = %d", seconds(o.Within))
				}
				want := rowsOf(t, direct, params...)
				got := rowsOf(t, fmt.Sprintf("SELECT * FROM %s(%s)", c.view(), args))
				if !slices.Equal(got, want) {
					t.Errorf("view rows\n%q\nreport rows\n%q", got, want)
				}
			})
		}
	}

	// The fixtures are not degenerate: every detail table has numbers.
	o := Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Within: DefaultWithin, Detail: true}
	a, err := Abandonment(t.Context(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	carts := 0
	for _, d := range a.Days {
		carts += int(d.Cart.Carts)
	}
	if carts == 0 || len(a.Channels) == 0 || len(a.RecoveredBy) == 0 || len(a.AbandonedCarts) == 0 {
		t.Errorf("fixtures: November has %d carts by day, %d channels, %d recoveries, %d abandoned carts; want some of each",
			carts, len(a.Channels), len(a.RecoveredBy), len(a.AbandonedCarts))
	}
	s, err := TimeOnSite(t.Context(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	sessions := uint64(0)
	for _, b := range s.Histogram {
		sessions += b.DurationSessions
	}
	if sessions == 0 || len(s.Breakdowns) == 0 {
		t.Errorf("fixtures: November has %d sessions in the histogram and %d breakdown rows; want some", sessions, len(s.Breakdowns))
	}
}
