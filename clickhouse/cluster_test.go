package clickhouse

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/internal/testenv"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// go test ./clickhouse/ -run 'Golden' -update rewrites the golden files.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	goldenCluster  = "touchstream_cluster"
	goldenDatabase = "touchstream"
)

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it); got:\n%s", path, t.Name(), got)
	}
}

// TestClusterMigrationsGolden keeps the cluster form of every migration in
// testdata/cluster/, so a change to a migration shows its cluster form in
// review, and fails for a migration that has none.
func TestClusterMigrationsGolden(t *testing.T) {
	t.Parallel()
	migrations, err := fs.Sub(sqlfiles.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	cluster, err := ClusterMigrations(migrations, goldenCluster, goldenDatabase)
	if err != nil {
		t.Fatalf("cluster form: %v", err)
	}
	for _, name := range names {
		text, err := fs.ReadFile(cluster, name)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "cluster/"+name, string(text))
	}
	// A golden file without its migration is a leftover.
	files, _ := filepath.Glob("testdata/cluster/*.sql")
	for _, f := range files {
		if !slices.Contains(names, filepath.Base(f)) && !*update {
			t.Errorf("%s has no migration in sql/migrations", f)
		}
	}
}

// TestClusterPlanShape checks the cluster plan table by table: every table
// of the single-node plan is a replicated local table and a Distributed
// table sharded by visitor (a rollup table: not sharded), every view
// (report views included) is created ON CLUSTER, every materialized view
// ON CLUSTER from and to local tables, every backfill INSERT runs on the
// shards through parallel_distributed_insert_select, and no other statement
// runs without ON CLUSTER.
func TestClusterPlanShape(t *testing.T) {
	t.Parallel()
	single, err := MigrationPlan(goldenDatabase, MigrateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := MigrationPlan(goldenDatabase, MigrateConfig{Cluster: goldenCluster, EventsTTL: durationPtr(400 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	backfill := regexp.MustCompile(`^INSERT INTO touchstream\.(\w+)\s(?:\([^()]*\)\s*)?SETTINGS parallel_distributed_insert_select = 2\nSELECT\b[^;]*\sFROM touchstream\.(\w+)(?:\s|$)`)
	var backfills int
	for _, p := range plan {
		if m := backfill.FindStringSubmatch(p.SQL); m != nil {
			backfills++
			// Both sides must be Distributed tables of the cluster: that
			// is what makes ClickHouse run it shard by shard.
			for _, table := range m[1:] {
				if !strings.Contains(all, "CREATE TABLE IF NOT EXISTS touchstream."+table+" ON CLUSTER "+goldenCluster+
					"\nAS touchstream."+table+"_local\nENGINE = Distributed('"+goldenCluster+"', ") {
					t.Errorf("backfill %s from %s: %s is not a Distributed table created before it", m[1], m[2], table)
				}
			}
		} else if !strings.Contains(p.SQL, " ON CLUSTER "+goldenCluster) {
			t.Errorf("statement without ON CLUSTER: %.80s", p.SQL)
		}
		all += p.SQL + ";\n"
	}
	createTable := regexp.MustCompile(`(?m)^CREATE TABLE IF NOT EXISTS (\w+)\s*\(`)
	createView := regexp.MustCompile("(?m)^CREATE (?:OR REPLACE )?VIEW (?:IF NOT EXISTS )?`?(\\w+)`?")
	createMV := regexp.MustCompile(`^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\s[^;]*\sFROM (\w+)\s`)
	sortKeyRE := regexp.MustCompile(`\nORDER BY \(([^()]*)\)`)
	var tables, views, mvs, inserts int
	for _, p := range single {
		if m := createTable.FindStringSubmatch(p.SQL); m != nil {
			tables++
			sharding := ", cityHash64(visitor_id)"
			if strings.Contains(p.SQL, "\nENGINE = AggregatingMergeTree\n") {
				sharding = "" // a rollup, written by its materialized view on each shard
			}
			if k := sortKeyRE.FindStringSubmatch(p.SQL); k != nil && !strings.Contains(p.SQL, "visitor_id ") &&
				strings.Contains(p.SQL, "\nENGINE = ReplacingMergeTree(") {
				sharding = ", cityHash64(" + k[1] + ")" // dead letters: by the sorting key
			}
			local := "CREATE TABLE IF NOT EXISTS touchstream." + m[1] + "_local ON CLUSTER " + goldenCluster + "\n"
			dist := "CREATE TABLE IF NOT EXISTS touchstream." + m[1] + " ON CLUSTER " + goldenCluster +
				"\nAS touchstream." + m[1] + "_local\nENGINE = Distributed('" + goldenCluster + "', 'touchstream', '" +
				m[1] + "_local'" + sharding + ");"
			if !strings.Contains(all, local) || !strings.Contains(all, dist) {
				t.Errorf("table %s: no replicated local table and Distributed table in the cluster plan", m[1])
			}
		}
		if m := createMV.FindStringSubmatch(p.SQL); m != nil {
			mvs++
			want := regexp.MustCompile(`(?m)^CREATE MATERIALIZED VIEW IF NOT EXISTS touchstream\.` + m[1] + ` ON CLUSTER ` +
				goldenCluster + ` TO touchstream\.` + m[2] + `_local AS\s[^;]*\sFROM touchstream\.` + m[3] + `_local\s`)
			if !want.MatchString(all) {
				t.Errorf("materialized view %s: not created ON CLUSTER from %s_local to %s_local", m[1], m[3], m[2])
			}
		}
		if strings.HasPrefix(p.SQL, "INSERT") {
			inserts++
		}
		if m := createView.FindStringSubmatch(p.SQL); m != nil {
			views++
			if !regexp.MustCompile(`VIEW (IF NOT EXISTS )?touchstream\.` + m[1] + ` ON CLUSTER `).MatchString(all) {
				t.Errorf("view %s is not created ON CLUSTER", m[1])
			}
		}
	}
	if tables < 5 || views < 1+len(ReportViews) || mvs < 1 {
		t.Errorf("single-node plan has %d tables, %d views and %d materialized views; want at least 5, %d and 1",
			tables, views, mvs, 1+len(ReportViews))
	}
	if backfills != inserts || inserts < 1 {
		t.Errorf("single-node plan has %d INSERTs, the cluster plan %d backfills run on the shards; want as many, at least 1", inserts, backfills)
	}
	for _, engine := range regexp.MustCompile(`ENGINE = (\w+)`).FindAllStringSubmatch(all, -1) {
		if !strings.HasPrefix(engine[1], "Replicated") && engine[1] != "Distributed" {
			t.Errorf("engine %s on a cluster", engine[1])
		}
	}
	if strings.Contains(all, "non_replicated_deduplication_window") {
		t.Error("the cluster plan keeps non_replicated_deduplication_window")
	}
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS touchstream ON CLUSTER " + goldenCluster,
		"ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version, is_deleted)",
		"ALTER TABLE touchstream.events_local ON CLUSTER " + goldenCluster + " MODIFY TTL toDateTime(event_time) + toIntervalDay(400)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("cluster plan has no %q", want)
		}
	}
}

// TestClusterPlanParses runs every statement of the cluster plan through
// the embedded ClickHouse's own parser (formatQuery): it cannot execute ON
// CLUSTER without ZooKeeper, but it can tell that the SQL is valid.
func TestClusterPlanParses(t *testing.T) {
	t.Parallel()
	conn, err := Open(t.Context(), testenv.ClickHouse(t)+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ttl := durationPtr(36 * time.Hour)
	plan, err := MigrationPlan(goldenDatabase, MigrateConfig{Cluster: "main cluster", EventsTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	// Down migrations too.
	migrations, _ := fs.Sub(sqlfiles.Migrations, "migrations")
	r := clusterRewriter{cluster: "main cluster", database: goldenDatabase}
	names, _ := fs.Glob(migrations, "*.sql")
	for _, name := range names {
		text, _ := fs.ReadFile(migrations, name)
		err := walkMigration(string(text), func(string) {}, func(up bool, stmt string) error {
			if !up {
				out, err := r.Statement(stmt)
				for _, s := range out {
					plan = append(plan, PlannedStatement{"down " + name, s})
				}
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, p := range plan {
		var formatted string
		if err := conn.QueryRow(t.Context(), `SELECT formatQuery(`+literal(p.SQL)+`)`).Scan(&formatted); err != nil {
			t.Errorf("%s: does not parse: %.300v\n%.300s", p.Comment, err, p.SQL)
			continue
		}
		isBackfill := strings.HasPrefix(formatted, "INSERT INTO touchstream.") &&
			strings.Contains(formatted, "\nSETTINGS parallel_distributed_insert_select = 2\n")
		if !strings.Contains(formatted, "ON CLUSTER `main cluster`") && !isBackfill {
			t.Errorf("%s: formatted without ON CLUSTER: %s", p.Comment, formatted)
		}
	}
}

func durationPtr(d time.Duration) *time.Duration { return &d }

func TestClusterRewriteRules(t *testing.T) {
	t.Parallel()
	r := clusterRewriter{cluster: "c", database: "db"}
	for _, tc := range []struct {
		in   string
		want []string // nil: ErrNoClusterForm
	}{
		{"ALTER TABLE events ADD COLUMN IF NOT EXISTS x String", []string{
			"ALTER TABLE db.events_local ON CLUSTER c ADD COLUMN IF NOT EXISTS x String",
			"ALTER TABLE db.events ON CLUSTER c ADD COLUMN IF NOT EXISTS x String"}},
		{"ALTER TABLE events MODIFY COLUMN properties CODEC(T64, ZSTD(3))", []string{
			"ALTER TABLE db.events_local ON CLUSTER c MODIFY COLUMN properties CODEC(T64, ZSTD(3))"}},
		{"ALTER TABLE events MODIFY COLUMN `page url` REMOVE CODEC", []string{
			"ALTER TABLE db.events_local ON CLUSTER c MODIFY COLUMN `page url` REMOVE CODEC"}},
		{"ALTER TABLE events MODIFY COLUMN n UInt64 CODEC(ZSTD(1))", []string{
			"ALTER TABLE db.events_local ON CLUSTER c MODIFY COLUMN n UInt64 CODEC(ZSTD(1))",
			"ALTER TABLE db.events ON CLUSTER c MODIFY COLUMN n UInt64 CODEC(ZSTD(1))"}},
		{"alter table `sessions` modify setting merge_with_ttl_timeout = 3600", []string{
			"ALTER TABLE db.sessions_local ON CLUSTER c modify setting merge_with_ttl_timeout = 3600"}},
		{"DROP TABLE IF EXISTS events", []string{
			"DROP TABLE IF EXISTS db.events ON CLUSTER c SYNC", "DROP TABLE IF EXISTS db.events_local ON CLUSTER c SYNC"}},
		{"DROP VIEW persons", []string{"DROP VIEW db.persons ON CLUSTER c SYNC"}},
		{"CREATE OR REPLACE VIEW `my view` AS SELECT 1", []string{"CREATE OR REPLACE VIEW db.`my view` ON CLUSTER c AS SELECT 1"}},
		{"CREATE TABLE t (visitor_id String, s String COMMENT 'a ) paren') ENGINE = MergeTree ORDER BY visitor_id", []string{
			"CREATE TABLE db.t_local ON CLUSTER c\n(visitor_id String, s String COMMENT 'a ) paren')\n" +
				"ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')\nORDER BY visitor_id",
			"CREATE TABLE db.t ON CLUSTER c\nAS db.t_local\nENGINE = Distributed('c', 'db', 't_local', cityHash64(visitor_id))"}},
		{"CREATE TABLE IF NOT EXISTS e2 AS events\nENGINE = ReplacingMergeTree(inserted_at)\nORDER BY (toDate(t), visitor_id)\nSETTINGS non_replicated_deduplication_window = 1000", []string{
			"CREATE TABLE IF NOT EXISTS db.e2_local ON CLUSTER c\nAS db.events_local\n" +
				"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)\n" +
				"ORDER BY (toDate(t), visitor_id)\nSETTINGS replicated_deduplication_window = 1000",
			"CREATE TABLE IF NOT EXISTS db.e2 ON CLUSTER c\nAS db.e2_local\nENGINE = Distributed('c', 'db', 'e2_local', cityHash64(visitor_id))"}},
		{"CREATE TABLE e2 AS events ENGINE = Memory", nil},
		{"CREATE TABLE e2 AS events", nil},
		{"exchange tables events and `e 2`", []string{"EXCHANGE TABLES db.events_local AND db.`e 2_local` ON CLUSTER c"}},
		{"EXCHANGE TABLES other.events AND e2", nil},
		{"CREATE TABLE t (user_id String) ENGINE = MergeTree ORDER BY user_id", nil},
		{"CREATE TABLE t (visitor_id String) ENGINE = ReplicatedMergeTree ORDER BY visitor_id", nil},
		{"CREATE TABLE t (visitor_id String) ENGINE = Memory", nil},
		{"CREATE TABLE r (day Date, n AggregateFunction(uniqExact, String)) ENGINE = AggregatingMergeTree ORDER BY day", []string{
			"CREATE TABLE db.r_local ON CLUSTER c\n(day Date, n AggregateFunction(uniqExact, String))\n" +
				"ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')\nORDER BY day",
			"CREATE TABLE db.r ON CLUSTER c\nAS db.r_local\nENGINE = Distributed('c', 'db', 'r_local')"}},
		{"CREATE TABLE s (day Date, n UInt64) ENGINE = SummingMergeTree ORDER BY day", nil},
		{"CREATE TABLE d (at DateTime, p Int32, o Int64, v DateTime) ENGINE = ReplacingMergeTree(v) PARTITION BY toYYYYMM(at) ORDER BY (at, p, o) TTL at + INTERVAL 1 DAY", []string{
			"CREATE TABLE db.d_local ON CLUSTER c\n(at DateTime, p Int32, o Int64, v DateTime)\n" +
				"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', v)\n" +
				"PARTITION BY toYYYYMM(at) ORDER BY (at, p, o) TTL at + INTERVAL 1 DAY",
			"CREATE TABLE db.d ON CLUSTER c\nAS db.d_local\nENGINE = Distributed('c', 'db', 'd_local', cityHash64(at, p, o))"}},
		{"CREATE TABLE d (k String)\nENGINE = ReplacingMergeTree\nORDER BY k\nSETTINGS index_granularity = 8192", []string{
			"CREATE TABLE db.d_local ON CLUSTER c\n(k String)\n" +
				"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')\n" +
				"ORDER BY k\nSETTINGS index_granularity = 8192",
			"CREATE TABLE db.d ON CLUSTER c\nAS db.d_local\nENGINE = Distributed('c', 'db', 'd_local', cityHash64(k))"}},
		{"CREATE TABLE d (k String) ENGINE = ReplacingMergeTree ORDER BY tuple()", nil},
		{"CREATE TABLE d (k String) ENGINE = ReplacingMergeTree PRIMARY KEY k", nil},
		{"CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO t AS SELECT toDate(event_time) AS day, uniqExactState(visitor_id) AS n FROM events GROUP BY day", []string{
			"CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv ON CLUSTER c TO db.t_local AS\n" +
				"SELECT toDate(event_time) AS day, uniqExactState(visitor_id) AS n FROM db.events_local GROUP BY day"}},
		{"create materialized view `m v` to `t` as select visitor_id from `events`\nwhere 1", []string{
			"CREATE MATERIALIZED VIEW db.`m v` ON CLUSTER c TO db.t_local AS\nselect visitor_id from db.events_local\nwhere 1"}},
		{"CREATE MATERIALIZED VIEW mv ENGINE = AggregatingMergeTree ORDER BY day AS SELECT visitor_id FROM events", nil},
		{"CREATE MATERIALIZED VIEW mv TO t AS SELECT visitor_id FROM events FINAL", nil},
		{"CREATE MATERIALIZED VIEW mv TO t AS SELECT e.visitor_id FROM events AS e JOIN sessions AS s USING visitor_id", nil},
		{"CREATE MATERIALIZED VIEW mv TO t AS SELECT visitor_id FROM (SELECT visitor_id FROM events)", nil},
		{"CREATE MATERIALIZED VIEW mv TO t AS SELECT visitor_id FROM events WHERE visitor_id IN (SELECT visitor_id FROM sessions)", nil},
		{"CREATE MATERIALIZED VIEW mv TO t POPULATE AS SELECT visitor_id FROM events", nil},
		{"INSERT INTO t (day, n) SELECT toDate(event_time) AS day, uniqExactState(visitor_id) FROM events GROUP BY day", []string{
			"INSERT INTO db.t (day, n)\nSETTINGS parallel_distributed_insert_select = 2\n" +
				"SELECT toDate(event_time) AS day, uniqExactState(visitor_id) FROM db.events GROUP BY day"}},
		{"INSERT INTO t SELECT visitor_id FROM events UNION ALL SELECT visitor_id FROM sessions", nil},
		{"INSERT INTO t SELECT visitor_id FROM events SETTINGS max_threads = 1", nil},
		{"INSERT INTO t SELECT visitor_id FROM events FINAL", nil},
		{"INSERT INTO events (visitor_id) VALUES ('a')", nil},
		{"CREATE TABLE other.t (visitor_id String) ENGINE = MergeTree ORDER BY visitor_id", nil},
	} {
		got, err := r.Statement(tc.in)
		if tc.want == nil {
			if !errors.Is(err, ErrNoClusterForm) {
				t.Errorf("Statement(%q) = %q, %v; want ErrNoClusterForm", tc.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Statement(%q) =\n%q, %v; want\n%q", tc.in, got, err, tc.want)
		}
	}

	// Whole files: annotations and comments stay; statement blocks work.
	text := "-- a comment\n-- +goose Up\n-- +goose StatementBegin\nALTER TABLE events\n    ADD COLUMN x String;\n-- +goose StatementEnd\n\n-- +goose Down\nALTER TABLE events DROP COLUMN x;\n"
	want := "-- a comment\n-- +goose Up\n-- +goose StatementBegin\n" +
		"ALTER TABLE db.events_local ON CLUSTER c ADD COLUMN x String;\nALTER TABLE db.events ON CLUSTER c ADD COLUMN x String;\n" +
		"-- +goose StatementEnd\n\n-- +goose Down\n" +
		"ALTER TABLE db.events_local ON CLUSTER c DROP COLUMN x;\nALTER TABLE db.events ON CLUSTER c DROP COLUMN x;\n"
	if got, err := r.Migration(text); err != nil || got != want {
		t.Errorf("Migration =\n%s, %v; want\n%s", got, err, want)
	}
	if _, err := r.Migration("-- +goose Up\nINSERT INTO events VALUES (1);\n"); !errors.Is(err, ErrNoClusterForm) {
		t.Errorf("a migration with an INSERT: %v, want ErrNoClusterForm", err)
	}
	if _, err := r.Migration("-- +goose Up\nDROP TABLE x\n"); err == nil {
		t.Error("a statement without a semicolon: no error")
	}
	for _, bad := range []string{"", "a`b", "x'y"} {
		if err := (MigrateConfig{Cluster: bad}).Validate(); bad != "" && err == nil {
			t.Errorf("cluster %q: no error", bad)
		}
	}
}
