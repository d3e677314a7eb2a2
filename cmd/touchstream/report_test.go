package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
)

func TestReportOptions(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

	opts, err := reportOptions(now, "", "", "", "", "7d", "ordered", "24h")
	if err != nil {
		t.Fatal(err)
	}
	if !opts.To.Equal(now) || !opts.From.Equal(now.AddDate(0, 0, -30)) {
		t.Errorf("default range = [%v, %v), want the 30 days up to now", opts.From, opts.To)
	}
	if opts.Window != 7*24*time.Hour || opts.Within != 24*time.Hour || opts.Steps != nil {
		t.Errorf("defaults = %+v", opts)
	}

	// A date --to covers that whole day.
	opts, err = reportOptions(now, "2026-11-01", "2026-11-02", "shop", "A, B|C", "36h", "ordered", "2d")
	if err != nil {
		t.Fatal(err)
	}
	if !opts.From.Equal(day(1)) || !opts.To.Equal(day(3)) || opts.Site != "shop" ||
		strings.Join(opts.Steps, ";") != "A; B|C" || opts.Window != 36*time.Hour || opts.Within != 48*time.Hour {
		t.Errorf("options = %+v", opts)
	}
	// Only --to: the 30 days before it.
	opts, err = reportOptions(now, "", "2026-11-10T00:00:00Z", "", "", "7d", "", "24h")
	if err != nil || !opts.From.Equal(day(10).AddDate(0, 0, -30)) {
		t.Errorf("--to only: %+v, %v", opts, err)
	}

	for _, bad := range [][]string{
		{"yesterday", "", "7d", "24h"},
		{"", "2026-11-40", "7d", "24h"},
		{"2026-11-10", "2026-11-01", "7d", "24h"},
		{"", "", "7", "24h"},
		{"", "", "0d", "24h"},
		{"", "", "7d", "-1h"},
	} {
		if _, err := reportOptions(now, bad[0], bad[1], "", "", bad[2], "ordered", bad[3]); err == nil {
			t.Errorf("reportOptions(%q): no error", bad)
		}
	}
}

func TestReportCommand(t *testing.T) {
	dsn := testenv.ClickHouse(t) + "/" + testenv.Database(t, "cmdreport")
	if err := clickhouse.Migrate(t.Context(), dsn, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Exec(t.Context(), `INSERT INTO events (message_id, event_time, event_name, visitor_id, write_key) VALUES
		('1', '2026-11-02 10:00:00', 'View', 'a', 'shop'), ('2', '2026-11-02 10:01:00', 'Buy', 'a', 'shop'),
		('3', '2026-11-02 10:00:00', 'View', 'b', 'shop'), ('4', '2026-11-02 10:00:00', 'View', 'c', 'blog')`)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err = reportTo(t.Context(), &out, []string{"funnel", "--clickhouse-dsn", dsn, "--from", "2026-11-01", "--to", "2026-11-30",
		"--site", "shop", "--steps", "View,Buy", "--window", "1d", "--format", "json"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"steps":[{"step":"View","count":2,"conversion_from_start":1,"conversion_from_previous":1,"median_seconds_to_convert":0,"p90_seconds_to_convert":0},` +
		`{"step":"Buy","count":1,"conversion_from_start":0.5,"conversion_from_previous":0.5,"median_seconds_to_convert":60,"p90_seconds_to_convert":60}]}` + "\n"
	if out.String() != want {
		t.Errorf("funnel json:\n got %s\nwant %s", out.String(), want)
	}

	// A filtered report says so in the table and HTML outputs.
	for format, want := range map[string]string{"table": "filter: channel Email; plan=pro\n\n", "html": "<h1>Touchstream funnel report, channel Email; plan=pro</h1>"} {
		out.Reset()
		err := reportTo(t.Context(), &out, []string{"funnel", "--clickhouse-dsn", dsn, "--from", "2026-11-01", "--to", "2026-11-30",
			"--steps", "View,Buy", "--channel", "Email", "--where", "plan=pro", "--format", format})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("funnel --format %s with a filter:\n%s", format, out.String())
		}
	}

	// The report filter reaches the query: nobody's View came through the
	// app touchpoint or has a plan (a missing property is '', so "plan="
	// keeps both).
	for filter, want := range map[string]string{"--touchpoint=app": "View,0,", "--where=plan=pro": "View,0,",
		"--channel=Email,Direct": "View,0,", "--where=plan=": "View,2,"} {
		out.Reset()
		args := []string{"funnel", "--clickhouse-dsn", dsn, "--from", "2026-11-01", "--to", "2026-11-30",
			"--site", "shop", "--steps", "View,Buy", "--format", "csv", filter}
		if err := reportTo(t.Context(), &out, args); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "\n"+want) {
			t.Errorf("funnel %q csv:\n%s", filter, out.String())
		}
	}

	// Breakdown, trend, drop-off list and exclusions through the flags.
	funnel := func(extra ...string) string {
		t.Helper()
		out.Reset()
		args := append([]string{"funnel", "--clickhouse-dsn", dsn, "--from", "2026-11-01", "--to", "2026-11-07", "--site", "shop",
			"--steps", "View,Buy", "--window", "1d"}, extra...)
		if err := reportTo(t.Context(), &out, args); err != nil {
			t.Fatalf("%q: %v", extra, err)
		}
		return out.String()
	}
	var got struct {
		BreakdownBy string `json:"breakdown_by"`
		Breakdown   []struct {
			Value string `json:"value"`
			Steps []struct {
				Count int `json:"count"`
			} `json:"steps"`
		} `json:"breakdown"`
		Trend []struct {
			Period     string  `json:"period"`
			Conversion float64 `json:"conversion"`
		} `json:"trend"`
	}
	if err := json.Unmarshal([]byte(funnel("--breakdown", "property:plan", "--format", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.BreakdownBy != "property:plan" || len(got.Breakdown) != 1 || got.Breakdown[0].Value != "" ||
		got.Breakdown[0].Steps[0].Count != 2 || got.Breakdown[0].Steps[1].Count != 1 {
		t.Errorf("breakdown: %s", out.String())
	}
	if err := json.Unmarshal([]byte(funnel("--trend", "week", "--format", "json")), &got); err != nil {
		t.Fatal(err)
	}
	// Nov 1 is a Sunday (week of Oct 26); a and b start on Monday Nov 2.
	if len(got.Trend) != 2 || got.Trend[0].Period != "2026-10-26" || got.Trend[1].Period != "2026-11-02" || got.Trend[1].Conversion != 0.5 {
		t.Errorf("trend: %s", out.String())
	}
	if csv := funnel("--dropoff", "1", "--format", "csv"); csv != "visitor_id,user_id,step_time,channel\nb,,2026-11-02T10:00:00.000Z,\n" {
		t.Errorf("dropoff csv:\n%s", csv)
	}
	if table := funnel("--exclude", "View"); !strings.Contains(table, "P90 TIME") {
		t.Errorf("table:\n%s", table)
	}

	// The kind may follow the flags; the DSN comes from the environment.
	t.Setenv("TOUCHSTREAM_CLICKHOUSE_DSN", dsn)
	for _, kind := range []string{"abandonment", "time-on-site", "retention", "segments", "attribution", "paths", "traffic"} {
		out.Reset()
		if err := reportTo(t.Context(), &out, []string{"--from", "2026-11-01", "--to", "2026-11-30", "--format", "json", kind}); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !json.Valid(out.Bytes()) {
			t.Errorf("%s: not JSON: %s", kind, out.String())
		}
	}

	// --carts: the abandoned carts as a CSV list. Visitor d added a cart and
	// never ordered; the list holds that cart alone.
	err = conn.Exec(t.Context(), `INSERT INTO events (message_id, event_time, event_name, visitor_id, user_id, cart_id, revenue, write_key) VALUES
		('c1', '2026-11-04 12:00:00', 'Product Added', 'd', 'u-d', 'cart-d', 25, 'shop')`)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"abandonment", "--carts", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "cart-d") || !strings.Contains(lines[1], ",d,u-d,") || !strings.Contains(lines[1], "25") {
		t.Errorf("abandonment --carts csv:\n%s", out.String())
	}
	// --detail adds the breakdowns; without it the JSON is DESIGN.md's.
	for _, detail := range []bool{false, true} {
		args := []string{"abandonment", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json"}
		if detail {
			args = append(args, "--detail")
		}
		out.Reset()
		if err := reportTo(t.Context(), &out, args); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.String(), `"days":`); got != detail {
			t.Errorf("abandonment --detail=%v: days in the JSON %v:\n%s", detail, got, out.String())
		}
	}
	if err := reportTo(t.Context(), &out, []string{"funnel", "--carts", "--steps", "View"}); err == nil {
		t.Error("--carts with the funnel: want an error")
	}

	// Attribution: one order by a with two sessions, linear credit.
	err = conn.Exec(t.Context(), `INSERT INTO sessions (session_id, visitor_id, start_time, end_time, traffic_channel, version) VALUES
		('s1', 'a', '2026-11-01 10:00:00', '2026-11-01 10:01:00', 'Email', 1), ('s2', 'a', '2026-11-02 09:00:00', '2026-11-02 10:01:00', 'Direct', 1)`)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Exec(t.Context(), `INSERT INTO events (message_id, event_time, type, event_name, visitor_id, write_key, revenue) VALUES
		('5', '2026-11-02 10:00:00', 'track', 'Order Completed', 'a', 'shop', 10)`)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"attribution", "--from", "2026-11-01", "--to", "2026-11-30", "--model", "linear", "--lookback", "7d", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	want = `{"dimension":"channel","lookback_seconds":604800,"models":["linear"],"conversions":1,"revenue":10,"attributed_conversions":1,"attributed_revenue":10,` +
		`"rows":[{"value":"Direct","linear":{"conversions":0.5,"revenue":5}},{"value":"Email","linear":{"conversions":0.5,"revenue":5}}]}` + "\n"
	if out.String() != want {
		t.Errorf("attribution json:\n got %s\nwant %s", out.String(), want)
	}

	// --by person: a is linked to nobody, so the same credit.
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"attribution", "--by", "person", "--from", "2026-11-01", "--to", "2026-11-30", "--model", "linear", "--lookback", "7d", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	want = `{"dimension":"channel","by":"person","lookback_seconds":604800,"models":["linear"],"conversions":1,"revenue":10,"attributed_conversions":1,"attributed_revenue":10,` +
		`"rows":[{"value":"Direct","linear":{"conversions":0.5,"revenue":5}},{"value":"Email","linear":{"conversions":0.5,"revenue":5}}]}` + "\n"
	if out.String() != want {
		t.Errorf("attribution --by person json:\n got %s\nwant %s", out.String(), want)
	}

	// Traffic on Nov 2 (site shop): a and b, 3 events, a's order ('5').
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"traffic", "--from", "2026-11-02", "--to", "2026-11-02", "--site", "shop", "--format", "csv"}); err != nil {
		t.Fatal(err)
	}
	if want := "day,channel,visitors,sessions,events,orders,revenue,customers,conversion_rate\n" +
		"2026-11-02,,2,0,4,1,10,1,0.5\n2026-11-02,(all),2,0,4,1,10,1,0.5\n(all),(all),2,0,4,1,10,1,0.5\n"; out.String() != want {
		t.Errorf("traffic csv:\n got %s\nwant %s", out.String(), want)
	}

	// Paths after /a, 2 deep: p's session holds /a, /a again, then Signed Up.
	err = conn.Exec(t.Context(), `INSERT INTO sessions (session_id, visitor_id, start_time, end_time, version) VALUES ('sp', 'p', '2026-11-03 10:00:00', '2026-11-03 10:02:00', 1)`)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Exec(t.Context(), `INSERT INTO events (message_id, event_time, type, event_name, page_path, visitor_id) VALUES
		('p1', '2026-11-03 10:00:00', 'page', '', '/a', 'p'), ('p2', '2026-11-03 10:01:00', 'page', '', '/a', 'p'),
		('p3', '2026-11-03 10:02:00', 'track', 'Signed Up', '', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"paths", "--from", "2026-11-03", "--to", "2026-11-03", "--from-event", "page:/a", "--depth", "2", "--format", "csv"}); err != nil {
		t.Fatal(err)
	}
	if want := "path,visitors,sessions\npage:/a > Signed Up,1,1\n"; out.String() != want {
		t.Errorf("paths csv:\n got %s\nwant %s", out.String(), want)
	}
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"paths", "--from", "2026-11-03", "--to", "2026-11-03", "--to-event", "Signed Up", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	if want := `{"from_event":"","to_event":"Signed Up","depth":4,"paths":[{"path":["page:/a","Signed Up"],"visitors":1,"sessions":1}]}` + "\n"; out.String() != want {
		t.Errorf("paths --to-event json:\n got %s\nwant %s", out.String(), want)
	}

	// Retention by month of first purchase: a bought on Nov 2.
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"retention", "--from", "2026-11-01", "--to", "2026-11-30", "--cohort", "first-purchase", "--period", "month", "--format", "csv"}); err != nil {
		t.Fatal(err)
	}
	if want := "cohort,size,period_offset,active,active_share,purchasers,purchaser_share\n2026-11-01,1,0,1,1,1,1\n"; out.String() != want {
		t.Errorf("retention csv:\n got %s\nwant %s", out.String(), want)
	}
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"retention", "--by", "person", "--from", "2026-11-01", "--to", "2026-11-30", "--cohort", "first-purchase", "--period", "month", "--format", "table"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "COHORT OF PERSONS") {
		t.Errorf("retention --by person table:\n%s", out.String())
	}
	// Segments: a is the only customer.
	out.Reset()
	if err := reportTo(t.Context(), &out, []string{"segments", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv"}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(out.String(), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], "a,a,,,1,10,10,") {
		t.Errorf("segments csv:\n%s", out.String())
	}

	for _, args := range [][]string{
		{},
		{"nps"},
		{"attribution", "--model", "u-shaped"},
		{"retention", "--cohort", "first-order"},
		{"retention", "--period", "day"},
		{"attribution", "--dimension", "country"},
		{"attribution", "--lookback", "0d"},
		{"funnel"}, // no --steps
		{"funnel", "--steps", "A", "--format", "yaml"},
		{"funnel", "--steps", "A", "--mode", "loose"},
		{"funnel", "--steps", "A,B", "--breakdown", "country"},
		{"funnel", "--steps", "A,B", "--breakdown", "property:"},
		{"funnel", "--steps", "A,B", "--trend", "month"},
		{"funnel", "--steps", "A,B", "--dropoff", "2"},
		{"funnel", "--steps", "A,B", "--dropoff", "1", "--trend", "day"},
		{"funnel", "--steps", "A[k"},
		{"abandonment", "--breakdown", "channel"},
		{"paths", "--depth", "0"},
		{"paths", "--from-event", "A", "--to-event", "B"},
		{"segments", "--by", "person"},
		{"attribution", "--by", "session"},
		{"traffic", "--from", "2026-11-01T10:00:00Z", "--to", "2026-11-03"},
		{"traffic", "--from", "2026-11-01", "--to", "2026-11-03T00:00:00+01:00"},
		{"time-on-site", "extra"},
		{"funnel", "--steps", "A", "--where", "plan"},
	} {
		if err := reportTo(t.Context(), &bytes.Buffer{}, args); err == nil {
			t.Errorf("report %q: no error", args)
		}
	}
}
