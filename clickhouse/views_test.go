package clickhouse

import (
	"fmt"
	"math"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestReportViewsExist(t *testing.T) {
	t.Parallel()
	dsn, database, conn := migratedDB(t)
	// A second Migrate replaces the views and leaves them working.
	if err := Migrate(t.Context(), dsn, nil); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	for _, v := range ReportViews {
		ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{"db": database, "name": v.View}))
		var engine, query string
		err := conn.QueryRow(ctx,
			`SELECT engine, create_table_query FROM system.tables WHERE database = {db:String} AND name = {name:String}`).
			Scan(&engine, &query)
		if err != nil {
			t.Fatalf("view %s: %v", v.View, err)
		}
		if engine != "View" {
			t.Errorf("%s: engine %q, want View", v.View, engine)
		}
		// The view is the query file's SQL: a distinctive piece of each.
		want := map[string]string{"report_abandonment": "is_recovered", "report_time_on_site": "engaged_sessions",
			"report_attribution": "last_non_direct", "report_retention": "purchaser_share",
			"report_paths": "notEmpty(cut)", "report_segments": "Hibernating"}[v.View]
		if !strings.Contains(query, want) {
			t.Errorf("%s: definition lacks %q:\n%s", v.View, want, query)
		}
	}
}

func TestViewSQLIsTheQueryFile(t *testing.T) {
	t.Parallel()
	stmt, err := ViewSQL("report_time_on_site", "time_on_site")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stmt, "CREATE OR REPLACE VIEW `report_time_on_site` AS\n-- time_on_site:") {
		t.Errorf("statement starts %q", stmt[:80])
	}
	if _, err := ViewSQL("report_x", "no_such_query"); err == nil {
		t.Error("ViewSQL of a missing query file: no error")
	}
}

func TestReportViewsCompute(t *testing.T) {
	t.Parallel()
	_, _, conn := migratedDB(t)
	exec := func(q string) {
		t.Helper()
		if err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO sessions (session_id, visitor_id, start_time, end_time, page_views, engaged_msec, conversions, version, is_deleted) VALUES
		('s1', 'a', '2026-11-02 10:00:00.000', '2026-11-02 10:00:00.000', 1, 0, 0, 1, 0),
		('s2', 'b', '2026-11-02 10:00:00.000', '2026-11-02 10:00:30.000', 1, 20000, 0, 1, 0),
		('s3', 'c', '2026-11-02 10:00:00.000', '2026-11-02 10:02:00.000', 3, 60000, 0, 1, 0),
		('s4', 'd', '2026-10-31 23:59:59.000', '2026-11-01 00:10:00.000', 5, 0, 0, 1, 0)`)
	exec(`INSERT INTO events (message_id, event_time, event_name, visitor_id, cart_id, session_id, write_key, type) VALUES
		('m1', '2026-11-03 10:00:00.000', 'Product Added', 'a', 'c1', 's1', 'w', 'track'),
		('m2', '2026-11-03 11:00:00.000', 'Order Completed', 'a', 'c1', 's1', 'w', 'track'),
		('m3', '2026-11-03 10:00:00.000', 'Product Added', 'b', 'c2', 's2', 'w', 'track'),
		('m4', '2026-11-05 10:00:00.000', 'Order Completed', 'b', 'c2', 's2', 'w', 'track'),
		('m5', '2026-11-03 10:00:00.000', 'Product Added', 'c', 'c3', 's3', 'w', 'track'),
		('m6', '2026-11-03 10:00:00.000', 'Checkout Started', 'c', 'c3', 's3', 'w', 'track')`)

	var (
		sessions, engaged                                 uint64
		dMean, dMed, dP90, eMean, eMed, eP90, bounce, eng float64
	)
	err := conn.QueryRow(t.Context(),
		`SELECT * FROM report_time_on_site(from = '2026-11-01 00:00:00.000', to = '2026-12-01 00:00:00.000', site = '')`).
		Scan(&sessions, &dMean, &dMed, &dP90, &eMean, &eMed, &eP90, &engaged, &bounce, &eng)
	if err != nil {
		t.Fatalf("report_time_on_site: %v", err)
	}
	// s1 s2 s3 (s4 starts before from): durations 0 30 120, engaged 0 20
	// 60; engaged sessions s2 (30 s) and s3 (3 pages).
	got := []float64{float64(sessions), dMean, dMed, dP90, eMean, eMed, eP90, float64(engaged), bounce, eng}
	want := []float64{3, 50, 30, 120, 80.0 / 3, 20, 60, 2, 1.0 / 3, 2.0 / 3}
	checkFloats(t, "report_time_on_site", got, want)

	// A bare date, and query parameters (a BI tool's variables), work too.
	ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{"f": "2026-11-01", "t": "2026-12-01"}))
	var n uint64
	err = conn.QueryRow(ctx,
		`SELECT sessions FROM report_time_on_site(from = {f:DateTime64(3)}, to = {t:DateTime64(3)}, site = '')`).Scan(&n)
	if err != nil || n != 3 {
		t.Errorf("report_time_on_site with query parameters: %d sessions, %v; want 3", n, err)
	}
	err = conn.QueryRow(t.Context(),
		`SELECT sessions FROM report_time_on_site(from = '2026-11-01', to = '2026-12-01', site = '')`).Scan(&n)
	if err != nil || n != 3 {
		t.Errorf("report_time_on_site with bare dates: %d sessions, %v; want 3", n, err)
	}

	rows, err := conn.Query(t.Context(),
		`SELECT * FROM report_abandonment(from = '2026-11-01 00:00:00.000', to = '2026-12-01 00:00:00.000', site = 'w', within_seconds = 86400)`)
	if err != nil {
		t.Fatalf("report_abandonment: %v", err)
	}
	defer rows.Close()
	var gotRows []string
	for rows.Next() {
		var (
			kind                      string
			carts, abandoned, recover uint64
			rate                      float64
		)
		if err := rows.Scan(&kind, &carts, &abandoned, &recover, &rate); err != nil {
			t.Fatal(err)
		}
		gotRows = append(gotRows, fmt.Sprintf("%s %d %d %d %.4f", kind, carts, abandoned, recover, rate))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Carts c1 (ordered within 1 h), c2 (ordered after 2 days: abandoned,
	// recovered), c3 (never ordered); one checkout c3, abandoned.
	wantRows := []string{"cart 3 2 1 0.6667", "checkout 1 1 0 1.0000"}
	if strings.Join(gotRows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("report_abandonment =\n%s\nwant\n%s", strings.Join(gotRows, "\n"), strings.Join(wantRows, "\n"))
	}
}

func checkFloats(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("%s = %v\nwant %v", what, got, want)
			return
		}
	}
}

// TestReportViewsByPerson: report_retention and report_attribution take
// `by`; a person on two devices (p, l linked to u1) is one cohort member
// and one journey by person, two visitors by visitor.
func TestReportViewsByPerson(t *testing.T) {
	t.Parallel()
	_, _, conn := migratedDB(t)
	for _, q := range []string{
		`INSERT INTO events (message_id, event_time, event_name, visitor_id, type, revenue) VALUES
			('e1', '2026-11-03 10:00:00.000', 'Home', 'p', 'page', 0),
			('e2', '2026-11-10 10:00:00.000', 'Order Completed', 'l', 'track', 40)`,
		`INSERT INTO sessions (session_id, visitor_id, start_time, end_time, traffic_channel, version, is_deleted) VALUES
			('s1', 'p', '2026-11-03 10:00:00.000', '2026-11-03 10:00:00.000', 'Email', 1, 0),
			('s2', 'l', '2026-11-10 10:00:00.000', '2026-11-10 10:00:00.000', 'Direct', 1, 0)`,
		`INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
			('p', 'u1', '2026-11-03 10:00:00.000', '2026-11-03 10:00:00.000', 'identify', 'i1'),
			('l', 'u1', '2026-11-10 10:00:00.000', '2026-11-10 10:00:00.000', 'identify', 'i2')`,
	} {
		if err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tc := range []struct{ query, visitor, person string }{
		{`SELECT arraySort(groupArray(toString(cohort) || ':' || toString(size))) FROM report_retention(from = '2026-11-02', to = '2026-11-16', site = '', cohort = 'first-visit', period = 'week', by = %s) WHERE period_offset = 0`,
			"[2026-11-02:1 2026-11-09:1]", "[2026-11-02:1]"},
		{`SELECT arraySort(groupArray(value || ':' || toString(first_touch_conversions))) FROM report_attribution(from = '2026-11-01', to = '2026-12-01', site = '', lookback_seconds = 2592000, dimension = 'channel', by = %s) WHERE first_touch_conversions > 0`,
			"[Direct:1]", "[Email:1]"},
	} {
		for by, want := range map[string]string{"'visitor'": tc.visitor, "'person'": tc.person} {
			var got []string
			if err := conn.QueryRow(t.Context(), fmt.Sprintf(tc.query, by)).Scan(&got); err != nil {
				t.Fatalf("by %s: %v", by, err)
			}
			if g := fmt.Sprint(got); g != want {
				t.Errorf("%s by %s = %s, want %s", tc.query[:40], by, g, want)
			}
		}
	}
}

// TestReportViewsPathsSegments: report_paths and report_segments return
// what paths.sql and segments.sql define, called with their parameters.
func TestReportViewsPathsSegments(t *testing.T) {
	t.Parallel()
	_, _, conn := migratedDB(t)
	for _, q := range []string{
		`INSERT INTO sessions (session_id, visitor_id, start_time, end_time, page_views, version, is_deleted) VALUES
		('s1', 'p', '2026-11-02 10:00:00.000', '2026-11-02 10:03:00.000', 2, 1, 0)`,
		`INSERT INTO events (message_id, event_time, type, event_name, page_path, visitor_id, revenue) VALUES
		('m1', '2026-11-02 10:00:00.000', 'page', '', '/a', 'p', 0),
		('m2', '2026-11-02 10:01:00.000', 'track', 'B', '', 'p', 0),
		('m3', '2026-11-02 10:02:00.000', 'page', '', '/c', 'p', 0),
		('m4', '2026-11-02 10:03:00.000', 'track', 'Order Completed', '', 'p', 30)`,
	} {
		if err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ from, to, want string }{
		{"", "", "page:/a > B > page:/c 1 1"},
		{"B", "", "B > page:/c > Order Completed 1 1"},
		{"", "B", "page:/a > B 1 1"},
	} {
		var (
			path              []string
			visitors, session uint64
		)
		ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{"fe": c.from, "te": c.to}))
		err := conn.QueryRow(ctx, `SELECT * FROM report_paths(from = '2026-11-01 00:00:00.000', to = '2026-12-01 00:00:00.000',
			site = '', from_event = {fe:String}, to_event = {te:String}, depth = 3, limit = 20)`).Scan(&path, &visitors, &session)
		if got := fmt.Sprintf("%s %d %d", strings.Join(path, " > "), visitors, session); err != nil || got != c.want {
			t.Errorf("report_paths from %q to %q = %s, %v; want %s", c.from, c.to, got, err, c.want)
		}
	}
	var (
		customer, segment string
		orders            uint64
		revenue           float64
		r, f, m           uint8
	)
	err := conn.QueryRow(t.Context(), `SELECT customer_id, orders, revenue, r, f, m, segment
		FROM report_segments(from = '2026-11-01 00:00:00.000', to = '2026-12-01 00:00:00.000', site = '')`).
		Scan(&customer, &orders, &revenue, &r, &f, &m, &segment)
	// One customer: rank 1 of 1 in R, F and M scores 1.
	if got := fmt.Sprintf("%s %d %v %d %d %d %s", customer, orders, revenue, r, f, m, segment); err != nil || got != "p 1 30 1 1 1 Hibernating" {
		t.Errorf("report_segments = %s, %v; want p 1 30 1 1 1 Hibernating", got, err)
	}
}
