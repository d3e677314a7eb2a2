package clickhouse

import (
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/pressly/goose/v3"

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
		"utm_source", "utm_medium", "utm_campaign", "click_id_type", "click_id",
		"page_url", "page_path", "referrer",
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

// schemaDump returns the CREATE statement of every table and view of
// database (the report views aside: views_test.go checks those), sorted by
// name, with the database name replaced by touchstream.
func schemaDump(t *testing.T, conn driver.Conn, database string) string {
	t.Helper()
	ctx := ch.Context(t.Context(), ch.WithParameters(ch.Parameters{"db": database}))
	rows, err := conn.Query(ctx, `SELECT name, formatQuery(create_table_query) FROM system.tables
		WHERE database = {db:String} AND NOT startsWith(name, 'report_') ORDER BY name`)
	if err != nil {
		t.Fatalf("system.tables: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		b.WriteString("-- " + name + "\n" + strings.ReplaceAll(create, database+".", "touchstream.") + ";\n\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSingleNodeSchemaGolden pins the single-node schema, the public
// contract BI tools query, as the embedded ClickHouse reports it after
// Migrate: testdata/single_node_schema.sql. Cluster mode must not change it.
func TestSingleNodeSchemaGolden(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	dump := schemaDump(t, conn, database)
	for _, table := range []string{"events", "sessions", "stage_transitions", "identities", "persons", "goose_db_version"} {
		if !strings.Contains(dump, "-- "+table+"\n") {
			t.Errorf("no %s after Migrate", table)
		}
	}
	if strings.Contains(dump, "_local") || strings.Contains(dump, "Distributed") || strings.Contains(dump, "Replicated") {
		t.Error("the single-node schema has cluster tables")
	}
	golden(t, "single_node_schema.sql", dump)
}

// TestPlanIsWhatMigrateRuns applies the single-node MigrationPlan (what
// --print prints) statement by statement to a fresh database and requires
// the same schema as Migrate makes.
func TestPlanIsWhatMigrateRuns(t *testing.T) {
	t.Parallel()
	_, migrated, conn := migratedDB(t)
	database := testenv.Database(t, "chplan")
	plan, err := MigrationPlan(database, MigrateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plan[0].SQL, "CREATE DATABASE IF NOT EXISTS "+database) {
		t.Fatalf("plan starts with %q", plan[0].SQL)
	}
	if err := conn.Exec(t.Context(), plan[0].SQL); err != nil {
		t.Fatal(err)
	}
	planned, err := Open(t.Context(), testenv.ClickHouse(t)+"/"+database)
	if err != nil {
		t.Fatal(err)
	}
	defer planned.Close()
	for _, p := range plan[1:] {
		if err := planned.Exec(t.Context(), p.SQL); err != nil {
			t.Fatalf("%s: %v\n%s", p.Comment, err, p.SQL)
		}
	}
	want := strings.ReplaceAll(schemaDump(t, conn, migrated), "-- goose_db_version\n", "")
	got := schemaDump(t, planned, database)
	// The plan has no goose bookkeeping: drop that table from the comparison.
	if i := strings.Index(want, "CREATE TABLE touchstream.goose_db_version"); i >= 0 {
		j := strings.Index(want[i:], ";\n\n")
		want = want[:i] + want[i+j+3:]
	}
	if got != want {
		t.Errorf("schema from the printed plan:\n%s\nwant (from Migrate):\n%s", got, want)
	}
}

func TestEventsRetention(t *testing.T) {
	t.Parallel()
	dsn, database, conn := migratedDB(t)
	showEvents := func() string {
		var create string
		if err := conn.QueryRow(t.Context(), "SHOW CREATE TABLE "+database+".events").Scan(&create); err != nil {
			t.Fatal(err)
		}
		return create
	}
	if strings.Contains(showEvents(), "TTL") {
		t.Fatalf("events has a TTL by default:\n%s", showEvents())
	}
	for _, step := range []struct {
		ttl     string // "" leaves it
		want    string // the TTL line of SHOW CREATE TABLE, "" none
		changed string
	}{
		{"400d", "TTL toDateTime(event_time) + toIntervalDay(400)", "true"},
		{"400d", "TTL toDateTime(event_time) + toIntervalDay(400)", "false"},
		{"", "TTL toDateTime(event_time) + toIntervalDay(400)", ""},
		{"36h", "TTL toDateTime(event_time) + toIntervalHour(36)", "true"},
		{"0", "", "true"},
		{"0", "", "false"},
	} {
		cfg := MigrateConfig{}
		if step.ttl != "" {
			d, err := ParseRetention(step.ttl)
			if err != nil {
				t.Fatal(err)
			}
			cfg.EventsTTL = &d
		}
		var logs logBuffer
		if err := MigrateWith(t.Context(), dsn, cfg, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Fatalf("ttl %q: %v", step.ttl, err)
		}
		create := showEvents()
		if step.want == "" && strings.Contains(create, "TTL") || step.want != "" && !strings.Contains(create, "\n"+step.want+"\n") {
			t.Errorf("ttl %q: SHOW CREATE TABLE events:\n%s\nwant %q", step.ttl, create, step.want)
		}
		if step.changed != "" && !strings.Contains(logs.String(), "changed="+step.changed) {
			t.Errorf("ttl %q: logs %s, want changed=%s", step.ttl, logs.String(), step.changed)
		}
	}
	// Rows past the TTL go; newer ones stay.
	d := 400 * 24 * time.Hour
	if err := MigrateWith(t.Context(), dsn, MigrateConfig{EventsTTL: &d}, nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(t.Context(), "INSERT INTO "+database+`.events (message_id, visitor_id, event_time) VALUES
		('old', 'v', now64(3) - toIntervalDay(500)), ('new', 'v', now64(3) - toIntervalDay(10))`); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(t.Context(), "OPTIMIZE TABLE "+database+".events FINAL"); err != nil {
		t.Fatal(err)
	}
	var kept []string
	if err := conn.QueryRow(t.Context(), "SELECT groupArray(message_id) FROM (SELECT message_id FROM "+
		database+".events ORDER BY message_id)").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, []string{"new"}) {
		t.Errorf("after OPTIMIZE FINAL with a 400-day TTL: %q, want [new]", kept)
	}
}

// TestMigrateReadTimeout: migrate waits a day for a statement unless the
// DSN sets read_timeout (a copy of events answers only when it is done).
func TestMigrateReadTimeout(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]time.Duration{
		"http://127.0.0.1:8123/touchstream":                  24 * time.Hour,
		"clickhouse://127.0.0.1:9000/touchstream":            24 * time.Hour,
		"http://127.0.0.1:8123/touchstream?read_timeout=90s": 90 * time.Second,
	} {
		opts, err := migrateOptions(dsn)
		if err != nil {
			t.Errorf("migrateOptions(%s): %v", dsn, err)
		} else if opts.ReadTimeout != want {
			t.Errorf("migrateOptions(%s): read timeout %v, want %v", dsn, opts.ReadTimeout, want)
		}
	}
}

func TestParseRetention(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"0": 0, "400d": 400 * day, "8w": 56 * day, "720h": 30 * day, "36h": 36 * time.Hour, " 1d ": day,
	} {
		if got, err := ParseRetention(in); err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1d", "1.5d", "90m", "d", "forever", "-2h", "100000d"} {
		if got, err := ParseRetention(bad); err == nil {
			t.Errorf("ParseRetention(%q) = %v, want an error", bad, got)
		}
	}
	if err := (MigrateConfig{EventsTTL: new(time.Duration(-time.Hour))}).Validate(); err == nil {
		t.Error("a negative EventsTTL validates")
	}
}

// TestVersionStoreWithGoose runs goose with versionStore (as on a cluster,
// but creating a plain table and without SYSTEM SYNC REPLICA, which need a
// real cluster) on the embedded ClickHouse: the migrations apply once, the
// versions read back, a second run applies nothing.
func TestVersionStoreWithGoose(t *testing.T) {
	t.Parallel()
	database := testenv.Database(t, "chversions")
	dsn := testenv.ClickHouse(t) + "/" + database
	admin, err := Open(t.Context(), testenv.ClickHouse(t)+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Exec(t.Context(), "CREATE DATABASE "+database); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migrations, _ := fs.Sub(sqlfiles.Migrations, "migrations")
	names, _ := fs.Glob(migrations, "*.sql")
	store := &versionStore{create: strings.Replace(clusterVersionTableSQL("c", database),
		" ON CLUSTER c", "", 1)}
	store.create = regexp.MustCompile(`ENGINE = .*`).ReplaceAllString(store.create, "ENGINE = MergeTree")
	for run, want := range []int{len(names), 0} {
		provider, err := goose.NewProvider(goose.DialectCustom, db, migrations,
			goose.WithDisableGlobalRegistry(true), goose.WithStore(store))
		if err != nil {
			t.Fatal(err)
		}
		results, err := provider.Up(t.Context())
		if err != nil || len(results) != want {
			t.Fatalf("run %d: %d applied, %v; want %d", run, len(results), err, want)
		}
		version, err := provider.GetDBVersion(t.Context())
		if err != nil || version != int64(len(names)) {
			t.Errorf("run %d: version %d, %v; want %d", run, version, err, len(names))
		}
	}
	statuses, err := mustProvider(t, db, migrations, store).Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		if s.State != goose.StateApplied {
			t.Errorf("migration %d: %s", s.Source.Version, s.State)
		}
	}
}

func mustProvider(t *testing.T, db *sql.DB, migrations fs.FS, store *versionStore) *goose.Provider {
	t.Helper()
	p, err := goose.NewProvider(goose.DialectCustom, db, migrations, goose.WithDisableGlobalRegistry(true), goose.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMigrateRefusesOtherMode: a single-node database cannot be migrated
// with --cluster (nor the other way round); migrate says so before it runs
// any DDL.
func TestMigrateRefusesOtherMode(t *testing.T) {
	t.Parallel()
	dsn, _, _ := migratedDB(t)
	err := MigrateWith(t.Context(), dsn, MigrateConfig{Cluster: "main"}, nil)
	if !errors.Is(err, ErrWrongMode) {
		t.Errorf("--cluster on a single-node database: %v, want ErrWrongMode", err)
	}
}
