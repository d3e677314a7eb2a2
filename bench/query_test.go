package bench

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/report"
)

// The synthetic clickstream of BenchmarkQuery: 30 days from synthStart.
var (
	synthStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	synthEnd   = synthStart.Add(30 * 24 * time.Hour)
	// funnelSteps is the 4-step funnel the benchmark runs.
	funnelSteps = []string{"Page Viewed", "Product Viewed", "Product Added", "Order Completed"}
)

// insertEventsSQL fills events with n synthetic events of n/10 visitors
// (at least 1) in one INSERT ... SELECT FROM numbers(n): each event's
// visitor is a hash of its number, so visitors have a varying number of
// events (10 on average); a visitor's events lie within 20 minutes of its
// visit start, itself anywhere in the 30 days from synthStart. Event names
// follow a funnel: 55 % Page Viewed (type page), 25 % Product Viewed, 10 %
// Product Added, 6 % Checkout Started, 4 % Order Completed, in random order
// within a visit. Carts are per visitor; an order has revenue. The other
// columns (channel, device, page, properties) vary as in a web shop.
// Whatever materialized views the migrations put on events are filled
// too. Two insert threads and no ReplacingMergeTree collapsing on insert
// (there are no duplicates) make the load about 3x faster.
const insertEventsSQL = `
INSERT INTO events (message_id, event_time, received_at, type, event_name, touchpoint,
    visitor_id, user_id, session_id, stage, traffic_channel, utm_source, utm_medium, utm_campaign,
    page_url, page_path, referrer, library_name, device_type, browser, os,
    revenue, currency, order_id, cart_id, engagement_time_msec, properties, write_key)
SELECT
    toString(generateUUIDv4(n)) AS message_id,
    addMilliseconds(toDateTime64('%[2]s', 3, 'UTC'),
        (hv %% 2592000) * 1000 + (h %% 1200000)) AS event_time,
    addMilliseconds(event_time, 50 + h %% 200) AS received_at,
    if(name = 'Page Viewed', 'page', 'track') AS type,
    name AS event_name,
    'web' AS touchpoint,
    concat('anon-', lower(hex(cityHash64(v, 3)))) AS visitor_id,
    if(hv %% 4 = 0, concat('user-', toString(v)), '') AS user_id,
    lower(hex(cityHash64(v, 4))) AS session_id,
    transform(idx, [1, 2, 3, 4, 5], ['awareness', 'evaluation', 'purchase', 'purchase', 'purchase'], '') AS stage,
    transform(hv %% 5, [0, 1, 2, 3, 4], ['Direct', 'Paid Search', 'Email', 'Organic Social', 'Organic Search'], '') AS traffic_channel,
    transform(hv %% 5, [0, 1, 2, 3, 4], ['', 'google', 'newsletter', 'facebook', ''], '') AS utm_source,
    transform(hv %% 5, [0, 1, 2, 3, 4], ['', 'cpc', 'email', 'social', ''], '') AS utm_medium,
    transform(hv %% 5, [0, 1, 2, 3, 4], ['', 'spring_sale', 'weekly_42', 'retarget', ''], '') AS utm_campaign,
    concat('https://shop.example.com', path) AS page_url,
    transform(bitShiftRight(h, 20) %% 7, [0, 1, 2, 3, 4, 5, 6], ['/', '/products', '/products/shoes', '/products/hats', '/cart', '/checkout', '/blog/how-to-choose'], '') AS path,
    transform(hv %% 5, [0, 1, 2, 3, 4], ['', 'https://www.google.com/', '', 'https://l.facebook.com/', 'https://www.bing.com/'], '') AS referrer,
    'analytics.js' AS library_name,
    transform(bitShiftRight(hv, 8) %% 4, [0, 1, 2, 3], ['desktop', 'mobile', 'mobile', 'desktop'], '') AS device_type,
    transform(bitShiftRight(hv, 8) %% 4, [0, 1, 2, 3], ['Chrome', 'Safari', 'Chrome', 'Firefox'], '') AS browser,
    transform(bitShiftRight(hv, 8) %% 4, [0, 1, 2, 3], ['Windows', 'iOS', 'Android', 'Mac OS'], '') AS os,
    if(name = 'Order Completed', toFloat64(20 + bitShiftRight(h, 24) %% 200), 0) AS revenue,
    if(name = 'Order Completed', 'USD', '') AS currency,
    if(name = 'Order Completed', concat('order-', toString(n)), '') AS order_id,
    if(idx >= 3, concat('cart-', toString(v)), '') AS cart_id,
    if(name = 'Page Viewed', toUInt32(2000 + bitShiftRight(h, 28) %% 30000), 0) AS engagement_time_msec,
    concat('{"product_id":"sku-', toString(bitShiftRight(h, 32) %% 500), '","price":', toString(10 + bitShiftRight(h, 40) %% 90), '}') AS properties,
    'wk_bench_web' AS write_key
FROM
(
    SELECT
        number AS n,
        cityHash64(number) %% %[1]d AS v,
        cityHash64(number, 1) AS h,
        cityHash64(v, 2) AS hv,
        multiIf(h %% 100 < 55, 1, h %% 100 < 80, 2, h %% 100 < 90, 3, h %% 100 < 96, 4, 5) AS idx,
        transform(idx, [1, 2, 3, 4, 5], ['Page Viewed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'], '') AS name
    FROM numbers(%[3]d)
)
SETTINGS max_insert_threads = 2, optimize_on_insert = 0`

// insertSessionsSQL derives one session per visitor from events (the
// synthetic visits last at most 20 minutes, within the 30-minute timeout):
// what the processor would have written.
const insertSessionsSQL = `
INSERT INTO sessions (session_id, visitor_id, user_id, start_time, end_time, events, page_views,
    engaged_msec, entry_page, exit_page, touchpoint, traffic_channel, utm_source, utm_medium,
    utm_campaign, device_type, conversions, revenue, version, is_deleted)
SELECT
    any(session_id), visitor_id, any(user_id), min(event_time), max(event_time), count(),
    countIf(type = 'page'), sum(engagement_time_msec), argMin(page_path, event_time),
    argMax(page_path, event_time), 'web', any(traffic_channel), any(utm_source), any(utm_medium),
    any(utm_campaign), any(device_type), countIf(event_name = 'Order Completed'), sum(revenue), 1, 0
FROM events
GROUP BY visitor_id
SETTINGS max_insert_threads = 2, optimize_on_insert = 0`

// liveBatchSQL writes one part as a processor's batch would on a running
// pipeline: %[2]d new events (fresh message ids, inserted now) of existing
// visitors, copies of every %[3]d-th stored event with its event time
// moved into the 10 minutes before %[1]s, in one INSERT without
// collapsing on insert (as the processor writes). ClickHouse writes it as
// a level-0 part, which FINAL must merge with every part whose sorting-key
// range it overlaps.
const liveBatchSQL = `
INSERT INTO events
SELECT * REPLACE (
    toString(generateUUIDv4(cityHash64(message_id))) AS message_id,
    addMilliseconds(toDateTime64('%[1]s', 3, 'UTC'), -1 - toInt64(cityHash64(message_id, 1) %% 600000)) AS event_time,
    now64(3) AS inserted_at)
FROM events
WHERE cityHash64(message_id) %% %[3]d = 0
LIMIT %[2]d
SETTINGS optimize_on_insert = 0`

// loadSynthetic creates a fresh database on the embedded ClickHouse, loads
// n synthetic events and their sessions, and returns a connection to it
// (closed when the benchmark ends) and the database's name. With
// stopMerges, background merges of events are stopped before the load
// (SYSTEM STOP MERGES events), so that events keeps the parts the load
// wrote until the caller runs SYSTEM START MERGES events.
func loadSynthetic(tb testing.TB, n int, stopMerges bool) (driver.Conn, string) {
	tb.Helper()
	ctx := context.WithoutCancel(tb.Context())
	database := testenv.Database(tb, "querybench")
	dsn := testenv.ClickHouse(tb) + "/" + database
	if err := clickhouse.Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("open clickhouse: %v", err)
	}
	tb.Cleanup(func() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database)
		conn.Close()
	})
	if stopMerges {
		if err := conn.Exec(ctx, "SYSTEM STOP MERGES events"); err != nil {
			tb.Fatalf("stop merges: %v", err)
		}
	}
	visitors := max(n/10, 1)
	q := fmt.Sprintf(insertEventsSQL, visitors, synthStart.Format("2006-01-02 15:04:05"), n)
	if err := conn.Exec(ctx, q); err != nil {
		tb.Fatalf("insert events: %v", err)
	}
	if err := conn.Exec(ctx, insertSessionsSQL); err != nil {
		tb.Fatalf("insert sessions: %v", err)
	}
	return conn, database
}

// reportOptions are the options of the three reports: the whole 30 days
// (and a day more), the 4-step funnel, the default window and within.
func reportOptions() report.Options {
	return report.Options{From: synthStart, To: synthEnd.Add(24 * time.Hour), Steps: funnelSteps}
}

// groupByVisitor runs the baseline query and reads its whole result; it
// returns the number of rows.
func groupByVisitor(ctx context.Context, conn driver.Conn) (int, error) {
	rows, err := conn.Query(ctx, "SELECT visitor_id, count() FROM events GROUP BY visitor_id")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		n       int
		visitor string
		count   uint64
	)
	for rows.Next() {
		if err := rows.Scan(&visitor, &count); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// stepEvents is the subquery of the floor queries: the events of
// reportOptions' range (events FINAL, as the funnel reads them) that are
// one of the 4 steps, with their visitor's key (the funnel groups by
// visitor_key, as they do), their time in ms and their step as a bit (step
// k is 1 << (k-1)).
const stepEvents = `
    SELECT visitor_key, toUnixTimestamp64Milli(event_time) AS ms,
        bitShiftLeft(toUInt8(1), indexOf({steps:Array(String)}, event_name) - 1) AS mask
    FROM events FINAL
    WHERE event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
      AND ({site:String} = '' OR write_key = {site:String})
      AND event_name IN {steps:Array(String)}`

// floorSortSQL is the least any exact ordered funnel must do: collect each
// visitor's step events and order them by time. The sorted arrays are
// consumed whole (their lengths and first elements, which depend on the
// order), so the aggregate and the sort cannot be dropped.
const floorSortSQL = `
SELECT count(), sum(length(a)), sum(a[1])
FROM
(
    SELECT visitor_key, arraySort(groupArray(ms * 16 + mask)) AS a
    FROM (` + stepEvents + `)
    GROUP BY visitor_key
)`

// floorWindowFunnelSQL is ClickHouse's own windowFunnel over the same
// events: each visitor's level only (no times to convert), counted by
// level. %d is the conversion window in ms.
const floorWindowFunnelSQL = `
SELECT level, count()
FROM
(
    SELECT visitor_key,
        windowFunnel(%d)(toUInt64(ms),
            mask = 1, mask = 2, mask = 4, mask = 8) AS level
    FROM (` + stepEvents + `)
    GROUP BY visitor_key
)
GROUP BY level
ORDER BY level`

// floorParams are the floor queries' parameters: reportOptions' range, all
// sites, the 4 steps.
func floorParams() []any {
	o := reportOptions()
	return []any{
		chgo.DateNamed("from", o.From, chgo.MilliSeconds),
		chgo.DateNamed("to", o.To, chgo.MilliSeconds),
		chgo.Named("site", o.Site),
		chgo.Named("steps", funnelSteps),
	}
}

// floorSort runs floorSortSQL; it returns the number of visitors and of
// step events.
func floorSort(ctx context.Context, conn driver.Conn) (visitors, events uint64, err error) {
	var first int64
	err = conn.QueryRow(ctx, floorSortSQL, floorParams()...).Scan(&visitors, &events, &first)
	return visitors, events, err
}

// floorWindowFunnel runs floorWindowFunnelSQL with report.DefaultWindow; it
// returns the number of visitors that reached each step (reached[k-1]:
// level >= k).
func floorWindowFunnel(ctx context.Context, conn driver.Conn) ([]uint64, error) {
	q := fmt.Sprintf(floorWindowFunnelSQL, report.DefaultWindow.Milliseconds())
	rows, err := conn.Query(ctx, q, floorParams()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	reached := make([]uint64, len(funnelSteps))
	for rows.Next() {
		var (
			level uint8
			count uint64
		)
		if err := rows.Scan(&level, &count); err != nil {
			return nil, err
		}
		for k := 0; k < int(level) && k < len(reached); k++ {
			reached[k] += count
		}
	}
	return reached, rows.Err()
}

// settleOthers merges the parts of every table of database but events
// (OPTIMIZE TABLE ... FINAL, one at a time): the load also filled sessions
// and the rollups fed by materialized views, whose background merges would
// otherwise share the CPU with the timed queries of either state. It
// returns how many tables it merged.
func settleOthers(ctx context.Context, conn driver.Conn, database string) (int, error) {
	rows, err := conn.Query(ctx, `SELECT DISTINCT table FROM system.parts
		WHERE database = ? AND active AND table != 'events' ORDER BY table`, database)
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, t := range tables {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE `"+strings.ReplaceAll(t, "`", "``")+"` FINAL"); err != nil {
			return 0, fmt.Errorf("optimize %s: %w", t, err)
		}
	}
	return len(tables), nil
}

// activeParts returns the number of active parts of events.
func activeParts(ctx context.Context, conn driver.Conn, database string) (uint64, error) {
	var parts uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = ? AND table = 'events' AND active", database).Scan(&parts)
	return parts, err
}

// timedQuery is one query of a BenchmarkQuery state and its run times.
type timedQuery struct {
	name   string
	always bool // run every rotation, whatever the budget
	run    func() error
	secs   []float64
}

// rotate runs queries reps times in rotating order. A query that is not
// always run runs again only while less than budget has passed since the
// first rotation began (it runs at least once).
func rotate(b *testing.B, reps int, budget time.Duration, queries []*timedQuery) {
	began := time.Now()
	for i := range reps {
		for k := range queries {
			q := queries[(i+k)%len(queries)]
			if !q.always && len(q.secs) > 0 && time.Since(began) > budget {
				continue // a slow report measured once already
			}
			t := time.Now()
			if err := q.run(); err != nil {
				b.Fatalf("%s: %v", q.name, err)
			}
			q.secs = append(q.secs, time.Since(t).Seconds())
		}
	}
}

// reportRatios reports each query's median seconds and its ratio to base
// (the state's baseline median), their names prefixed; for the queries not
// always run, their number of runs too.
func reportRatios(b *testing.B, prefix string, base float64, queries []*timedQuery) {
	for _, q := range queries {
		if !q.always {
			b.ReportMetric(float64(len(q.secs)), prefix+q.name+"-runs")
		}
		m := median(q.secs)
		b.ReportMetric(m, prefix+q.name+"-s")
		b.ReportMetric(m/base, prefix+q.name+"-ratio")
	}
}

// BenchmarkQuery measures DESIGN.md section 7's query goal in two defined
// states of the table. It stops background merges of events, loads
// BENCH_EVENTS synthetic events (default 10,000,000; see insertEventsSQL)
// and one session per visitor into a fresh database on the embedded
// ClickHouse (timed: load-s), merges every other table it filled
// (sessions and the rollups its materialized views feed: settleOthers;
// timed: settle-s, settled-tables), so that their background merges do not
// run beside the timed queries, then measures
//
//  1. unmerged: events as the load wrote it (parts: its active parts),
//     merges still stopped. In each iteration, BENCH_QUERY_REPS times
//     (default 3), in rotating order:
//     - baseline: SELECT visitor_id, count() FROM events GROUP BY
//     visitor_id, every row read through clickhouse-go (as report reads
//     its results);
//     - funnel: report.Run(KindFunnel) with the 4 steps Page Viewed,
//     Product Viewed, Product Added, Order Completed over the 30 days;
//     - abandonment and time-on-site: report.Run of those kinds, same
//     range. They run again only while less than BENCH_QUERY_SECONDS
//     (default 60) have passed since the state's first rotation began
//     (abandonment took 77 s over 10 M events on the shared machine):
//     their runs are reported.
//     Then, in a rotation of their own (so that they cannot disturb the
//     figures above), the baseline again (others-baseline-s) and
//     retention, attribution, segments, stages and paths, report.Run of
//     those kinds with the same options, and the funnel in modes strict
//     and any (funnel-strict, funnel-any), run again only within the
//     budget as abandonment; their ratios are to this rotation's baseline.
//  2. merged: SYSTEM START MERGES events, then OPTIMIZE TABLE events FINAL
//     (timed: optimize-s; merged-parts after it): the state background
//     merges bring historical data to, where FINAL costs next to nothing.
//     BENCH_QUERY_REPS times per iteration, in rotating order: baseline
//     and funnel as above, and two floors of the funnel over the same
//     events FINAL, range and steps (stepEvents): floor-sort, each
//     visitor's step events sorted by time (floorSortSQL: what any exact
//     ordered funnel must do), and floor-windowfunnel, ClickHouse's
//     windowFunnel with the default window, levels only
//     (floorWindowFunnelSQL); abandonment and time-on-site, then the other
//     reports' rotation, as in unmerged.
//  3. live: SYSTEM STOP MERGES events, then one processor batch beside
//     the merged part (liveBatchSQL: 10,000 events, at most n/100, of
//     existing visitors in the last 10 minutes of the range; live-parts
//     after it): the state a dashboard on a running pipeline reads, merged
//     history and the parts written since the last merge.
//     BENCH_QUERY_REPS times per iteration, in rotating order: baseline
//     and funnel as above.
//
// Each state reports each query's median seconds and its ratio to that
// state's baseline median, the merged state's names prefixed "merged-"
// (the floors' "floor-"), the live state's "live-". Goal: funnel-ratio <=
// 2. The funnel's step counts must be the same in the first two states,
// and in the live state at least those (the batch only adds events).
func BenchmarkQuery(b *testing.B) {
	ctx := b.Context()
	n := envInt("BENCH_EVENTS", 10_000_000)
	reps := envInt("BENCH_QUERY_REPS", 3)
	budget := envSeconds("BENCH_QUERY_SECONDS", 60*time.Second)
	start := time.Now()
	conn, database := loadSynthetic(b, n, true)
	load := time.Since(start)
	start = time.Now()
	settled, err := settleOthers(ctx, conn, database)
	if err != nil {
		b.Fatalf("merge the other tables: %v", err)
	}
	settle := time.Since(start)
	parts, err := activeParts(ctx, conn, database)
	if err != nil {
		b.Fatalf("count parts: %v", err)
	}

	opts := reportOptions()
	baseline := func() error {
		got, err := groupByVisitor(ctx, conn)
		if err == nil && got < n/20 {
			err = fmt.Errorf("%d visitors, want about %d", got, n/10)
		}
		return err
	}
	funnelQuery := func(f **report.FunnelReport) func() error {
		return func() error {
			res, err := report.Run(ctx, conn, report.KindFunnel, opts)
			if err == nil {
				*f = res.(*report.FunnelReport)
			}
			return err
		}
	}
	reportQuery := func(kind string) func() error {
		return func() error { _, err := report.Run(ctx, conn, kind, opts); return err }
	}
	modeQuery := func(mode string) func() error {
		o := opts
		o.Mode = mode
		return func() error { _, err := report.Run(ctx, conn, report.KindFunnel, o); return err }
	}
	// others are the remaining reports, timed in a rotation of their own
	// after the funnel's (with a baseline of their own), so that they
	// cannot disturb the funnel's figures.
	others := func() []*timedQuery {
		return []*timedQuery{
			{name: "baseline", always: true, run: baseline},
			{name: "retention", run: reportQuery(report.KindRetention)},
			{name: "attribution", run: reportQuery(report.KindAttribution)},
			{name: "segments", run: reportQuery(report.KindSegments)},
			{name: "stages", run: reportQuery(report.KindStages)},
			{name: "paths", run: reportQuery(report.KindPaths)},
			{name: "funnel-strict", run: modeQuery(report.ModeStrict)},
			{name: "funnel-any", run: modeQuery(report.ModeAny)},
		}
	}

	// 1. unmerged
	var funnel *report.FunnelReport
	unmerged := []*timedQuery{
		{name: "baseline", always: true, run: baseline},
		{name: "funnel", always: true, run: funnelQuery(&funnel)},
		{name: "abandonment", run: reportQuery(report.KindAbandonment)},
		{name: "time-on-site", run: reportQuery(report.KindTimeOnSite)},
	}
	b.ResetTimer()
	rotate(b, b.N*reps, budget, unmerged)
	unmergedOthers := others()
	rotate(b, b.N*reps, budget, unmergedOthers)
	b.StopTimer()
	if after, err := activeParts(ctx, conn, database); err != nil {
		b.Fatalf("count parts: %v", err)
	} else if after != parts {
		b.Logf("events had %d active parts after the load and %d after the unmerged queries: merges did not stop", parts, after)
	}
	if err := checkFunnel(funnel); err != nil {
		b.Fatal(err)
	}

	// 2. merged
	if err := conn.Exec(ctx, "SYSTEM START MERGES events"); err != nil {
		b.Fatalf("start merges: %v", err)
	}
	start = time.Now()
	if err := conn.Exec(ctx, "OPTIMIZE TABLE events FINAL"); err != nil {
		b.Fatalf("optimize: %v", err)
	}
	optimize := time.Since(start)
	mergedParts, err := activeParts(ctx, conn, database)
	if err != nil {
		b.Fatalf("count parts: %v", err)
	}
	var (
		mergedFunnel *report.FunnelReport
		floorEvents  uint64
		reached      []uint64
	)
	merged := []*timedQuery{
		{name: "baseline", always: true, run: baseline},
		{name: "funnel", always: true, run: funnelQuery(&mergedFunnel)},
		{name: "floor-sort", always: true, run: func() error {
			visitors, events, err := floorSort(ctx, conn)
			if err == nil && (visitors < uint64(n/20) || events < visitors) {
				err = fmt.Errorf("%d visitors with %d step events, want about %d visitors", visitors, events, n/10)
			}
			floorEvents = events
			return err
		}},
		{name: "floor-windowfunnel", always: true, run: func() error {
			var err error
			reached, err = floorWindowFunnel(ctx, conn)
			return err
		}},
		{name: "abandonment", run: reportQuery(report.KindAbandonment)},
		{name: "time-on-site", run: reportQuery(report.KindTimeOnSite)},
	}
	b.StartTimer()
	rotate(b, b.N*reps, budget, merged)
	mergedOthers := others()
	rotate(b, b.N*reps, budget, mergedOthers)
	b.StopTimer()
	if err := checkFunnel(mergedFunnel); err != nil {
		b.Fatal(err)
	}
	counts, mergedCounts := stepCounts(funnel), stepCounts(mergedFunnel)
	if !slices.Equal(counts, mergedCounts) {
		b.Fatalf("funnel counts %v unmerged, %v merged: want the same", counts, mergedCounts)
	}
	b.Logf("funnel counts %v; windowFunnel levels reached %v; %d step events", counts, reached, floorEvents)

	// 3. live
	if err := conn.Exec(ctx, "SYSTEM STOP MERGES events"); err != nil {
		b.Fatalf("stop merges: %v", err)
	}
	batch := min(10_000, max(n/100, 1))
	q := fmt.Sprintf(liveBatchSQL, synthEnd.Format("2006-01-02 15:04:05"), batch, max(n/batch/2, 1))
	if err := conn.Exec(ctx, q); err != nil {
		b.Fatalf("insert the live batch: %v", err)
	}
	liveParts, err := activeParts(ctx, conn, database)
	if err != nil {
		b.Fatalf("count parts: %v", err)
	}
	var liveFunnel *report.FunnelReport
	live := []*timedQuery{
		{name: "baseline", always: true, run: baseline},
		{name: "funnel", always: true, run: funnelQuery(&liveFunnel)},
	}
	b.StartTimer()
	rotate(b, b.N*reps, budget, live)
	b.StopTimer()
	if err := checkFunnel(liveFunnel); err != nil {
		b.Fatal(err)
	}
	liveCounts := stepCounts(liveFunnel)
	for i := range liveCounts {
		if liveCounts[i] < mergedCounts[i] {
			b.Fatalf("funnel counts %v live, %v merged: the batch only adds events", liveCounts, mergedCounts)
		}
	}
	b.Logf("live funnel counts %v", liveCounts)

	b.ReportMetric(float64(n), "events")
	b.ReportMetric(load.Seconds(), "load-s")
	b.ReportMetric(settle.Seconds(), "settle-s")
	b.ReportMetric(float64(settled), "settled-tables")
	b.ReportMetric(float64(parts), "parts")
	base := median(unmerged[0].secs)
	b.ReportMetric(base, "baseline-s")
	reportRatios(b, "", base, unmerged[1:])
	b.ReportMetric(optimize.Seconds(), "optimize-s")
	b.ReportMetric(float64(mergedParts), "merged-parts")
	base = median(merged[0].secs)
	b.ReportMetric(base, "merged-baseline-s")
	reportRatios(b, "merged-", base, merged[1:2])
	reportRatios(b, "", base, merged[2:4])
	reportRatios(b, "merged-", base, merged[4:])
	b.ReportMetric(float64(batch), "live-batch-events")
	b.ReportMetric(float64(liveParts), "live-parts")
	base = median(live[0].secs)
	b.ReportMetric(base, "live-baseline-s")
	reportRatios(b, "live-", base, live[1:])
	base = median(unmergedOthers[0].secs)
	b.ReportMetric(base, "others-baseline-s")
	reportRatios(b, "", base, unmergedOthers[1:])
	base = median(mergedOthers[0].secs)
	b.ReportMetric(base, "merged-others-baseline-s")
	reportRatios(b, "merged-", base, mergedOthers[1:])
}

// checkFunnel checks that the synthetic data makes a funnel: 4 steps,
// every one reached by someone, each by no more than the one before.
func checkFunnel(f *report.FunnelReport) error {
	if f == nil || len(f.Steps) != len(funnelSteps) {
		return fmt.Errorf("funnel: %v, want %d steps", f, len(funnelSteps))
	}
	var counts []string
	for i, s := range f.Steps {
		counts = append(counts, fmt.Sprint(s.Count))
		if s.Count == 0 || i > 0 && s.Count > f.Steps[i-1].Count {
			return fmt.Errorf("funnel counts %s: want positive and not increasing", strings.Join(counts, ", "))
		}
	}
	return nil
}

// stepCounts returns the funnel's count of each step, in order.
func stepCounts(f *report.FunnelReport) []uint64 {
	out := make([]uint64, len(f.Steps))
	for i, s := range f.Steps {
		out[i] = s.Count
	}
	return out
}

// median returns the median of xs (the upper middle for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestSyntheticLoad checks BenchmarkQuery's data at a small size: every
// event lands, one session per visitor, and the reports run on it with a
// funnel that narrows.
func TestSyntheticLoad(t *testing.T) {
	const n = 20_000
	conn, _ := loadSynthetic(t, n, false)
	ctx := t.Context()
	var events, visitors, sessions uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(visitor_id) FROM events").Scan(&events, &visitors); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM sessions FINAL").Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if events != n || sessions != visitors || visitors < n/20 {
		t.Errorf("%d events, %d visitors, %d sessions; want %d events and a session per visitor", events, visitors, sessions, n)
	}
	f, err := report.Funnel(ctx, conn, reportOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFunnel(f); err != nil {
		t.Error(err)
	}
	for _, kind := range []string{report.KindAbandonment, report.KindTimeOnSite} {
		if _, err := report.Run(ctx, conn, kind, reportOptions()); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	if got, err := groupByVisitor(ctx, conn); err != nil || uint64(got) != visitors {
		t.Errorf("baseline: %d rows, %v; want %d", got, err, visitors)
	}
}
