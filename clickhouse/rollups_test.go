package clickhouse

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// rollupEvent is one event of the rollup tests, as written to events.
type rollupEvent struct {
	msg, visitor, session  string
	at                     time.Time
	typ, name              string
	channel, touchpoint    string
	source, campaign, site string
	revenue                float64
}

// isOrder is the definition of an order: a track event named Order Completed.
func (e rollupEvent) isOrder() bool { return e.typ == "track" && e.name == "Order Completed" }

// trafficRow is one row of sql/queries/traffic_daily.sql.
type trafficRow struct {
	Day                                           time.Time
	Channel                                       string
	Visitors, Sessions, Events, Orders, Customers uint64
	Revenue, ConversionRate                       float64
}

func (r trafficRow) String() string {
	return fmt.Sprintf("%s %-9q visitors %d sessions %d events %d orders %d customers %d revenue %.2f rate %.4f",
		r.Day.Format(time.DateOnly), r.Channel, r.Visitors, r.Sessions, r.Events, r.Orders, r.Customers, r.Revenue, r.ConversionRate)
}

// rollupFixture returns the distinct events of the test: several days of
// two months, sites, channels, touchpoints and campaigns, orders (and a
// page named like one), events without a session, and one message_id used
// by two visitors (two events: the key is (visitor_id, message_id)).
func rollupFixture() []rollupEvent {
	rng := rand.New(rand.NewPCG(4, 6))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	base := time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)
	var out []rollupEvent
	for v := range 40 {
		visitor := fmt.Sprintf("v%02d", v)
		site := pick("wk_shop", "wk_blog")
		for s := range 1 + rng.IntN(3) {
			session := fmt.Sprintf("s-%s-%d", visitor, s)
			start := base.Add(time.Duration(rng.IntN(8*24*60)) * time.Minute) // Oct 28 .. Nov 4: two months
			channel := pick("Direct", "Organic Search", "Paid Search", "Email", "")
			source, campaign := pick("", "google", "newsletter"), pick("", "black-friday", "launch")
			for i := range 1 + rng.IntN(6) {
				e := rollupEvent{
					msg: fmt.Sprintf("m-%s-%d-%d", visitor, s, i), visitor: visitor, session: session,
					at: start.Add(time.Duration(i*7) * time.Minute), typ: pick("page", "track", "track"),
					channel: channel, touchpoint: pick("web", "app"), source: source, campaign: campaign, site: site,
				}
				e.name = pick("Product Viewed", "Product Added", "Order Completed")
				if rng.IntN(8) == 0 {
					e.channel = "Referral" // a session's events need not share a channel
				}
				if e.name == "Order Completed" {
					e.revenue = float64(rng.IntN(50000)) / 100 // a page named so has revenue too, but is no order
				}
				if rng.IntN(15) == 0 {
					e.session = "" // too late to sessionize
				}
				out = append(out, e)
			}
		}
	}
	// The same message_id for two visitors, on one day and channel.
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, v := range []string{"shared-a", "shared-b"} {
		out = append(out, rollupEvent{msg: "m-shared", visitor: v, session: "s-" + v, at: at, typ: "track",
			name: "Order Completed", channel: "Email", touchpoint: "email", site: "wk_shop", revenue: 19.99})
	}
	return out
}

// lateEvents returns events for an old day (late arrivals): inserted last, they
// land in a day and a month partition that the rollup already has rows for.
func lateEvents() []rollupEvent {
	at := time.Date(2026, 10, 29, 23, 59, 59, 999e6, time.UTC)
	return []rollupEvent{
		{msg: "late-1", visitor: "v01", at: at, typ: "track", name: "Order Completed", channel: "Direct",
			touchpoint: "web", site: "wk_shop", revenue: 120.5},
		{msg: "late-2", visitor: "late-visitor", session: "s-late", at: at.Add(-time.Hour), typ: "page",
			name: "Home", channel: "Organic Search", touchpoint: "web", site: "wk_blog"},
	}
}

// insertEvents writes events as one INSERT (one block) with its own
// insert_deduplication_token, as the processor writes a batch: a
// redelivered event comes again in another batch, under another token.
func insertEvents(t *testing.T, conn driver.Conn, token string, events []rollupEvent) {
	t.Helper()
	ctx := ch.Context(t.Context(), ch.WithSettings(ch.Settings{"insert_deduplication_token": token}))
	batch, err := conn.PrepareBatch(ctx, `INSERT INTO events (message_id, event_time, received_at, type, event_name,
		touchpoint, visitor_id, session_id, traffic_channel, utm_source, utm_campaign, revenue, write_key)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := batch.Append(e.msg, e.at, e.at, e.typ, e.name, e.touchpoint, e.visitor, e.session,
			e.channel, e.source, e.campaign, e.revenue, e.site); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("insert %s: %v", token, err)
	}
}

// expectedTraffic computes traffic_daily.sql's rows in Go from distinct
// events: days whose start is in [from, to), site "" for all.
func expectedTraffic(events []rollupEvent, from, to time.Time, site string) []trafficRow {
	type key struct {
		day     time.Time
		channel string
	}
	type acc struct {
		visitors, sessions, customers map[string]bool
		events, orders                uint64
		revenue                       float64
	}
	groups := map[key]*acc{}
	seen := map[[2]string]bool{}
	for _, e := range events {
		day := e.at.Truncate(24 * time.Hour)
		if seen[[2]string{e.visitor, e.msg}] || day.Before(from) || !day.Before(to) || site != "" && e.site != site {
			continue
		}
		seen[[2]string{e.visitor, e.msg}] = true
		k := key{day, e.channel}
		a := groups[k]
		if a == nil {
			a = &acc{visitors: map[string]bool{}, sessions: map[string]bool{}, customers: map[string]bool{}}
			groups[k] = a
		}
		a.visitors[e.visitor] = true
		if e.session != "" {
			a.sessions[e.session] = true
		}
		a.events++
		if e.isOrder() {
			a.orders++
			a.revenue += e.revenue
			a.customers[e.visitor] = true
		}
	}
	var rows []trafficRow
	for k, a := range groups {
		rows = append(rows, trafficRow{Day: k.day, Channel: k.channel,
			Visitors: uint64(len(a.visitors)), Sessions: uint64(len(a.sessions)), Events: a.events,
			Orders: a.orders, Customers: uint64(len(a.customers)), Revenue: a.revenue,
			ConversionRate: float64(len(a.customers)) / float64(len(a.visitors))})
	}
	slices.SortFunc(rows, func(a, b trafficRow) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Channel, b.Channel))
	})
	return rows
}

// fromEventsFinal is the same aggregate as traffic_daily.sql, computed from
// the raw events with FINAL instead of the rollup.
const fromEventsFinal = `
SELECT
    toDate(event_time) AS day,
    toString(traffic_channel) AS channel,
    toUInt64(uniqExact(visitor_id)),
    toUInt64(uniqExactIf(session_id, session_id != '')),
    toUInt64(count()),
    toUInt64(countIf(type = 'track' AND event_name = 'Order Completed')),
    toUInt64(uniqExactIf(visitor_id, type = 'track' AND event_name = 'Order Completed')),
    toFloat64(sumIf(revenue, type = 'track' AND event_name = 'Order Completed')),
    toFloat64(uniqExactIf(visitor_id, type = 'track' AND event_name = 'Order Completed') / uniqExact(visitor_id))
FROM events FINAL
WHERE event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
  AND ({site:String} = '' OR write_key = {site:String})
GROUP BY day, channel
ORDER BY day, channel`

// queryTraffic runs query (traffic_daily.sql or fromEventsFinal).
func queryTraffic(t *testing.T, conn driver.Conn, query string, from, to time.Time, site string) []trafficRow {
	t.Helper()
	ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{
		"from": from.Format("2006-01-02 15:04:05.000"), "to": to.Format("2006-01-02 15:04:05.000"), "site": site,
	}), ch.WithSettings(ch.Settings{"session_timezone": "UTC"}))
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	var out []trafficRow
	for rows.Next() {
		var r trafficRow
		var err error
		if strings.Contains(query, "FROM traffic_daily") {
			err = rows.Scan(&r.Day, &r.Channel, &r.Visitors, &r.Sessions, &r.Events, &r.Orders, &r.Revenue, &r.Customers, &r.ConversionRate)
		} else {
			err = rows.Scan(&r.Day, &r.Channel, &r.Visitors, &r.Sessions, &r.Events, &r.Orders, &r.Customers, &r.Revenue, &r.ConversionRate)
		}
		if err != nil {
			t.Fatal(err)
		}
		r.Day = r.Day.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTraffic compares rows; revenue and rates to 1e-9 relative (sums of
// the same values in another order).
func sameTraffic(t *testing.T, what string, got, want []trafficRow) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	equal := slices.EqualFunc(got, want, func(a, b trafficRow) bool {
		return a.Day.Equal(b.Day) && a.Channel == b.Channel && a.Visitors == b.Visitors && a.Sessions == b.Sessions &&
			a.Events == b.Events && a.Orders == b.Orders && a.Customers == b.Customers &&
			near(a.Revenue, b.Revenue) && near(a.ConversionRate, b.ConversionRate)
	})
	if !equal {
		var b strings.Builder
		for _, r := range got {
			fmt.Fprintln(&b, "  got ", r)
		}
		for _, r := range want {
			fmt.Fprintln(&b, "  want", r)
		}
		t.Errorf("%s: %d rows, want %d:\n%s", what, len(got), len(want), b.String())
	}
}

func TestTrafficDailyRollup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// The database as production has it before the rollup: migrations 1-3.
	database, dsn, _, provider := databaseAt(t, "chrollup", 3)
	conn, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// No background merges of events: redelivered copies stay as rows, so
	// the test can tell they were written (and FINAL still collapses them).
	if err := conn.Exec(ctx, "SYSTEM STOP MERGES events"); err != nil {
		t.Fatal(err)
	}
	query, err := sqlfiles.Query("traffic_daily", false)
	if err != nil {
		t.Fatal(err)
	}

	all := rollupFixture()
	late := lateEvents()
	rng := rand.New(rand.NewPCG(7, 9))
	// Phase 1, before the rollup exists: two batches, the second repeating
	// a third of the first (a redelivery), and a duplicate inside a block.
	half := len(all) / 2
	before, after := all[:half], all[half:]
	insertEvents(t, conn, "p-0-0-100-e", before[:half/2])
	redelivered := slices.Clone(before[half/2:])
	for _, e := range before[:half/2] {
		if rng.IntN(3) == 0 {
			redelivered = append(redelivered, e)
		}
	}
	redelivered = append(redelivered, before[len(before)-1])
	insertEvents(t, conn, "p-0-50-200-e", redelivered)

	everything := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	check := func(step string, inserted []rollupEvent) {
		t.Helper()
		from, to := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			from, to time.Time
			site     string
		}{{everything, end, ""}, {everything, end, "wk_shop"}, {from, to, ""}, {from, to, "wk_blog"}} {
			what := fmt.Sprintf("%s, days [%s, %s), site %q", step, c.from.Format(time.DateOnly), c.to.Format(time.DateOnly), c.site)
			want := expectedTraffic(inserted, c.from, c.to, c.site)
			if len(want) < 3 {
				t.Fatalf("%s: the fixture gives only %d rows", what, len(want))
			}
			sameTraffic(t, what+": events FINAL", queryTraffic(t, conn, fromEventsFinal, c.from, c.to, c.site), want)
			sameTraffic(t, what+": traffic_daily.sql", queryTraffic(t, conn, string(query), c.from, c.to, c.site), want)
		}
	}

	// Migration 4 creates the rollup and backfills it from these events.
	if err := Migrate(ctx, dsn, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	check("backfilled", before)
	if err := conn.Exec(ctx, "SYSTEM STOP MERGES traffic_daily"); err != nil {
		t.Fatal(err)
	}

	// Phase 2, through the materialized view: new events in two batches
	// (one retried with its token), redeliveries of events of both phases in later batches, late events
	// for an old day and month, and those late events delivered twice.
	insertEvents(t, conn, "p-1-0-100-e", after[:len(after)/2])
	insertEvents(t, conn, "p-1-100-200-e", after[len(after)/2:])
	insertEvents(t, conn, "p-1-0-100-e", after[:len(after)/2]) // a retried batch: dropped by its token
	var again []rollupEvent
	for _, e := range all {
		if rng.IntN(4) == 0 {
			again = append(again, e)
		}
	}
	insertEvents(t, conn, "p-1-0-100-e-replay-1", again)
	insertEvents(t, conn, "p-2-0-2-e", late)
	insertEvents(t, conn, "p-2-0-2-e-replay-1", late)
	inserted := append(slices.Clone(all), late...)

	var rows, final, rollupRows, groups uint64
	if err := conn.QueryRow(ctx, "SELECT (SELECT count() FROM events), (SELECT count() FROM events FINAL)").Scan(&rows, &final); err != nil {
		t.Fatal(err)
	}
	if final != uint64(len(inserted)) || rows < final+uint64(len(again)+len(late)) {
		t.Fatalf("events: %d rows, %d under FINAL; want %d under FINAL and at least %d redelivered copies", rows, final, len(inserted), len(again))
	}
	// The rollup holds several rows per group until a merge: reads merge
	// the states, so the numbers are right before and after.
	if err := conn.QueryRow(ctx, `SELECT count(), uniqExact(day, write_key, traffic_channel, touchpoint, utm_source, utm_campaign)
		FROM traffic_daily`).Scan(&rollupRows, &groups); err != nil {
		t.Fatal(err)
	}
	if rollupRows <= groups {
		t.Errorf("traffic_daily has %d rows for %d groups: the test wants unmerged rows", rollupRows, groups)
	}
	check("after the materialized view", inserted)
	if err := conn.Exec(ctx, "SYSTEM START MERGES traffic_daily"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "OPTIMIZE TABLE traffic_daily FINAL"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM traffic_daily").Scan(&rollupRows); err != nil || rollupRows != groups {
		t.Errorf("after OPTIMIZE FINAL traffic_daily has %d rows, %v; want one per group, %d", rollupRows, err, groups)
	}
	check("after OPTIMIZE FINAL", inserted)

	// Down drops the view with the table (events still take inserts); up
	// again backfills everything, redelivered copies included, at once.
	// On the way down, 00007's DROP COLUMN is a mutation of events, and
	// the ADD COLUMN of the way up waits for it: events merges run until
	// it is done.
	if err := conn.Exec(ctx, "SYSTEM START MERGES events"); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, conn, database, "events")
	if err := conn.Exec(ctx, "SYSTEM STOP MERGES events"); err != nil {
		t.Fatal(err)
	}
	insertEvents(t, conn, "p-3-0-1-e", all[:1])
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	check("backfilled again", inserted)
}

// waitMutations waits until table of database has no mutation left to do.
func waitMutations(t *testing.T, conn driver.Conn, database, table string) {
	t.Helper()
	ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{"db": database, "table": table}))
	deadline := time.Now().Add(time.Minute)
	for {
		var pending uint64
		if err := conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = {db:String} AND table = {table:String} AND NOT is_done`).Scan(&pending); err != nil {
			t.Fatalf("system.mutations: %v", err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s.%s: %d mutations still pending after a minute", database, table, pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
