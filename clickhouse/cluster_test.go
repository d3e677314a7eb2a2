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
// table sharded by visitor, every view (report views included) is created
// ON CLUSTER, and no statement runs without ON CLUSTER.
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
	for _, p := range plan {
		if !strings.Contains(p.SQL, " ON CLUSTER "+goldenCluster) {
			t.Errorf("statement without ON CLUSTER: %.80s", p.SQL)
		}
		all += p.SQL + ";\n"
	}
	createTable := regexp.MustCompile(`(?m)^CREATE TABLE IF NOT EXISTS (\w+)\s*\(`)
	createView := regexp.MustCompile("(?m)^CREATE (?:OR REPLACE )?VIEW (?:IF NOT EXISTS )?`?(\\w+)`?")
	var tables, views int
	for _, p := range single {
		if m := createTable.FindStringSubmatch(p.SQL); m != nil {
			tables++
			local := "CREATE TABLE IF NOT EXISTS touchstream." + m[1] + "_local ON CLUSTER " + goldenCluster + "\n"
			dist := "CREATE TABLE IF NOT EXISTS touchstream." + m[1] + " ON CLUSTER " + goldenCluster +
				"\nAS touchstream." + m[1] + "_local\nENGINE = Distributed('" + goldenCluster + "', 'touchstream', '" +
				m[1] + "_local', cityHash64(visitor_id));"
			if !strings.Contains(all, local) || !strings.Contains(all, dist) {
				t.Errorf("table %s: no replicated local table and Distributed table in the cluster plan", m[1])
			}
		}
		if m := createView.FindStringSubmatch(p.SQL); m != nil {
			views++
			if !regexp.MustCompile(`VIEW (IF NOT EXISTS )?touchstream\.` + m[1] + ` ON CLUSTER `).MatchString(all) {
				t.Errorf("view %s is not created ON CLUSTER", m[1])
			}
		}
	}
	if tables < 4 || views < 1+len(ReportViews) {
		t.Errorf("single-node plan has %d tables and %d views; want at least 4 and %d", tables, views, 1+len(ReportViews))
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
		if !strings.Contains(formatted, "ON CLUSTER `main cluster`") {
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
		{"CREATE TABLE t (user_id String) ENGINE = MergeTree ORDER BY user_id", nil},
		{"CREATE TABLE t (visitor_id String) ENGINE = ReplicatedMergeTree ORDER BY visitor_id", nil},
		{"CREATE TABLE t (visitor_id String) ENGINE = Memory", nil},
		{"CREATE MATERIALIZED VIEW mv TO t AS SELECT visitor_id FROM events", nil},
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
