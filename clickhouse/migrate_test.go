package clickhouse

import (
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/touchstream/touchstream/internal/testenv"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	database := testenv.Database(t, "chmigrate")
	dsn := testenv.ClickHouse(t) + "/" + database

	files, err := fs.Glob(sqlfiles.Migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	for run := 1; run <= 2; run++ {
		var logs logBuffer
		if err := Migrate(t.Context(), dsn, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Fatalf("migrate run %d: %v", run, err)
		}
		t.Logf("run %d:\n%s", run, logs.String())
		applied := strings.Count(logs.String(), `msg="migration applied"`)
		want := map[int]int{1: len(files), 2: 0}[run]
		if applied != want {
			t.Errorf("run %d applied %d migrations, want %d", run, applied, want)
		}
		// The report views are recreated on every run, not versioned.
		if !strings.Contains(logs.String(), `msg="report views created"`) {
			t.Errorf("run %d did not create the report views", run)
		}
		if run == 1 && !strings.Contains(logs.String(), "version=1 ") {
			t.Errorf("run 1 did not log version 1")
		}
	}

	conn, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer conn.Close()
	var versions, rows uint64
	var maxVersion int64
	err = conn.QueryRow(t.Context(),
		`SELECT countIf(version_id > 0 AND is_applied = 1), count(), max(version_id) FROM goose_db_version`).
		Scan(&versions, &rows, &maxVersion)
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	// goose writes a row for version 0 when it creates its table, then one
	// per applied migration.
	files, err = fs.Glob(sqlfiles.Migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	n := uint64(len(files))
	if versions != n || rows != n+1 || maxVersion != int64(n) {
		t.Errorf("goose_db_version: %d applied versions, %d rows, max %d; want %d, %d, %d", versions, rows, maxVersion, n, n+1, n)
	}
}

func TestMigrateExistingDatabase(t *testing.T) {
	t.Parallel()
	// Migrating into a database that already exists (here created by an
	// earlier Migrate) must not try to create it again and fail.
	dsn, _, _ := migratedDB(t)
	if err := Migrate(t.Context(), dsn, nil); err != nil {
		t.Fatalf("migrate again with a nil logger: %v", err)
	}
}

// designColumns are the columns DESIGN.md section 6 names, plus the ones
// the processor writes (pipeline.Event, pipeline.Session).
var designColumns = map[string][]string{
	"events": {
		"message_id", "event_time", "received_at", "type", "event_name", "touchpoint",
		"visitor_id", "user_id", "session_id", "stage", "traffic_channel",
		"utm_source", "utm_medium", "utm_campaign", "page_url", "page_path", "referrer",
		"library_name", "device_type", "browser", "os", "revenue", "currency",
		"order_id", "cart_id", "properties",
		"engagement_time_msec", "write_key",
	},
	"sessions": {
		"session_id", "visitor_id", "user_id", "start_time", "end_time",
		"events", "page_views", "engaged_msec", "entry_page", "exit_page",
		"touchpoint", "traffic_channel", "utm_source", "utm_medium", "utm_campaign",
		"device_type", "conversions", "revenue", "version", "is_deleted",
		"duration_seconds", "engaged_seconds", "engaged",
	},
}

func TestSchemaHasContractColumns(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	for table, want := range designColumns {
		ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{"db": database, "table": table}))
		rows, err := conn.Query(ctx,
			`SELECT name, type, default_kind FROM system.columns WHERE database = {db:String} AND table = {table:String}`)
		if err != nil {
			t.Fatalf("query system.columns: %v", err)
		}
		got := map[string]string{}
		for rows.Next() {
			var name, typ, kind string
			if err := rows.Scan(&name, &typ, &kind); err != nil {
				t.Fatalf("scan: %v", err)
			}
			got[name] = typ + " " + kind
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("rows: %v", err)
		}
		rows.Close()
		for _, col := range want {
			if _, ok := got[col]; !ok {
				t.Errorf("%s has no column %s (has %v)", table, col, slices.Sorted(maps.Keys(got)))
			}
		}
		// The sink writes exactly the non-ALIAS columns it lists.
		written := map[string][]string{"events": eventColumns, "sessions": sessionColumns}[table]
		for _, col := range written {
			if strings.HasSuffix(got[col], " ALIAS") {
				t.Errorf("%s.%s is written by the sink but is an ALIAS", table, col)
			}
		}
	}
}
