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
	want := `{"steps":[{"step":"View","count":2,"conversion_from_start":1,"conversion_from_previous":1,"median_seconds_to_convert":0},` +
		`{"step":"Buy","count":1,"conversion_from_start":0.5,"conversion_from_previous":0.5,"median_seconds_to_convert":60}]}` + "\n"
	if out.String() != want {
		t.Errorf("funnel json:\n got %s\nwant %s", out.String(), want)
	}

	// The kind may follow the flags; the DSN comes from the environment.
	t.Setenv("TOUCHSTREAM_CLICKHOUSE_DSN", dsn)
	for _, kind := range []string{"abandonment", "time-on-site"} {
		out.Reset()
		if err := reportTo(t.Context(), &out, []string{"--from", "2026-11-01", "--format", "json", kind}); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !json.Valid(out.Bytes()) {
			t.Errorf("%s: not JSON: %s", kind, out.String())
		}
	}

	for _, args := range [][]string{
		{},
		{"nps"},
		{"funnel"}, // no --steps
		{"funnel", "--steps", "A", "--format", "yaml"},
		{"funnel", "--steps", "A", "--mode", "strict"},
		{"time-on-site", "extra"},
	} {
		if err := reportTo(t.Context(), &bytes.Buffer{}, args); err == nil {
			t.Errorf("report %q: no error", args)
		}
	}
}
