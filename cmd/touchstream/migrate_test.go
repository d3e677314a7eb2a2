package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
)

func TestMigratePrint(t *testing.T) {
	// --print never connects: the DSN names a port nothing listens on.
	var out bytes.Buffer
	err := migrate(t.Context(), []string{"--print", "--cluster", "main",
		"--clickhouse-dsn", "http://127.0.0.1:1/analytics", "--events-ttl", "400d"}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS analytics ON CLUSTER main;",
		"CREATE TABLE IF NOT EXISTS analytics.events_local ON CLUSTER main\n",
		"ENGINE = Distributed('main', 'analytics', 'events_local', cityHash64(visitor_id));",
		"ALTER TABLE analytics.events_local ON CLUSTER main MODIFY TTL toDateTime(event_time) + toIntervalDay(400);",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--print --cluster main has no %q", want)
		}
	}

	out.Reset()
	if err := migrate(t.Context(), []string{"--print"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "CREATE TABLE IF NOT EXISTS events\n") || strings.Contains(s, "ON CLUSTER") || strings.Contains(s, "MODIFY TTL") {
		t.Errorf("--print for a single node:\n%s", s)
	}

	for _, bad := range [][]string{
		{"--print", "--events-ttl", "forever"},
		{"--print", "--cluster", "a'b"},
		{"--print", "extra"},
		{"--print", "--clickhouse-dsn", "mysql://x/y"},
	} {
		if err := migrate(t.Context(), bad, &out, nil); err == nil {
			t.Errorf("migrate %q: no error", bad)
		}
	}
}

func TestMigrateEventsTTL(t *testing.T) {
	dsn := testenv.ClickHouse(t) + "/" + testenv.Database(t, "cmdmigrate")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// The flag's environment variable, as the migrate Job would set it.
	t.Setenv("TOUCHSTREAM_EVENTS_TTL", "30d")
	if err := migrate(t.Context(), []string{"--clickhouse-dsn", dsn}, &bytes.Buffer{}, log); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var create string
	if err := conn.QueryRow(t.Context(), "SHOW CREATE TABLE events").Scan(&create); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(create, "TTL toDateTime(event_time) + toIntervalDay(30)") {
		t.Errorf("after TOUCHSTREAM_EVENTS_TTL=30d:\n%s", create)
	}
	if !strings.Contains(logs.String(), `msg="events retention"`) || !strings.Contains(logs.String(), "ttl=30d") {
		t.Errorf("logs:\n%s", logs.String())
	}
	if err := migrate(t.Context(), []string{"--clickhouse-dsn", dsn, "--events-ttl", "0"}, &bytes.Buffer{}, log); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(t.Context(), "SHOW CREATE TABLE events").Scan(&create); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(create, "TTL") {
		t.Errorf("after --events-ttl 0:\n%s", create)
	}
}
