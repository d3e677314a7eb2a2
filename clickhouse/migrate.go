package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/pressly/goose/v3"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// MigrateConfig says how MigrateWith applies the schema. The zero value
// migrates a single node and leaves the retention of events as it is.
type MigrateConfig struct {
	// Cluster, when set, migrates every node of this cluster (a name in the
	// servers' remote_servers): each migration in its cluster form
	// (ClusterMigrations), ON CLUSTER, with replicated local tables named
	// <table>_local and Distributed tables under the public names.
	Cluster string
	// EventsTTL, when set, is the retention of raw events: rows of events
	// older than it (by event_time) are deleted by ClickHouse; 0 removes
	// the TTL (keep forever). Nil leaves the table's TTL as it is, which on
	// a new database is none.
	EventsTTL *time.Duration
	// Views are parameterized views made outside this package, from
	// templates rendered per shape (report.FunnelViews: one funnel view per
	// step count), created or replaced after ReportViews on every run as
	// they are.
	Views []View
}

// Validate checks the configuration; errors name the field.
func (c MigrateConfig) Validate() error {
	if c.Cluster != "" {
		if err := validateCluster(c.Cluster); err != nil {
			return fmt.Errorf("migrate config: Cluster: %w", err)
		}
	}
	if c.EventsTTL != nil && (*c.EventsTTL < 0 || *c.EventsTTL%time.Hour != 0) {
		return fmt.Errorf("migrate config: EventsTTL %v: want 0 or a whole number of hours", *c.EventsTTL)
	}
	return nil
}

// Migrate brings the single-node database named in dsn up to the newest
// migration: MigrateWith with the zero MigrateConfig.
func Migrate(ctx context.Context, dsn string, log *slog.Logger) error {
	return MigrateWith(ctx, dsn, MigrateConfig{}, log)
}

// MigrateWith brings the database named in dsn up to the newest migration
// in sql/migrations: it creates the database if it is missing (connected to
// the "default" database for that), then applies every pending migration
// with goose, logging each one applied, recreates the report views and, if
// cfg says so, sets the retention of events (else keeps the one events had
// before, which a migration that rebuilds the table drops). Running it
// again applies nothing. goose records versions in goose_db_version inside
// the target database (on a cluster, a ReplicatedMergeTree on every node:
// see versionStore).
func MigrateWith(ctx context.Context, dsn string, cfg MigrateConfig, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "migrate")
	if cfg.Cluster != "" {
		log = log.With("cluster", cfg.Cluster)
	}
	opts, err := migrateOptions(dsn)
	if err != nil {
		return err
	}
	database := opts.Auth.Database
	admin := *opts
	admin.Auth.Database = defaultDatabase
	conn, err := open(ctx, &admin)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = checkMode(ctx, conn, database, cfg.Cluster)
	if err == nil && database != defaultDatabase {
		if err = conn.Exec(ctx, createDatabaseSQL(cfg.Cluster, database)); err != nil {
			err = fmt.Errorf("migrate: create database %s: %w", database, classify(err))
		}
	}
	if err := errors.Join(err, conn.Close()); err != nil {
		return err
	}

	db := ch.OpenDB(opts)
	defer db.Close()
	provider, err := newProvider(db, cfg.Cluster, database)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// A migration that rebuilds events (00011) loses its TTL: remember it
	// unless cfg sets one.
	var ttlBefore string
	if cfg.EventsTTL == nil {
		if ttlBefore, err = currentTTL(ctx, db, cfg.Cluster); err != nil {
			return fmt.Errorf("migrate %s: %w", database, err)
		}
	}
	results, err := provider.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		results = partial.Applied
	}
	for _, r := range results {
		log.InfoContext(ctx, "migration applied",
			"database", database, "version", r.Source.Version, "file", r.Source.Path,
			"duration", r.Duration)
	}
	if err != nil {
		err = fmt.Errorf("migrate %s: %w", database, classify(err))
	}
	// Without cfg.EventsTTL, the TTL events had before stays, even when a
	// migration failed after it rebuilt the table (a run again would no
	// longer know it).
	if cfg.EventsTTL == nil {
		changed, kerr := keepTTL(ctx, db, cfg.Cluster, database, ttlBefore)
		if kerr != nil {
			err = errors.Join(err, fmt.Errorf("migrate %s: %w", database, kerr))
		} else if changed {
			log.InfoContext(ctx, "events retention kept", "database", database, "ttl", ttlBefore)
		}
	}
	if err != nil {
		return err
	}
	if len(results) == 0 {
		version, err := provider.GetDBVersion(ctx)
		if err != nil {
			return fmt.Errorf("migrate %s: read version: %w", database, classify(err))
		}
		log.InfoContext(ctx, "migrations up to date", "database", database, "version", version)
	}
	// The report views are not versioned: they are recreated from the
	// embedded query files on every run, so they never lag behind them.
	views, err := cfg.views()
	if err == nil {
		err = createViews(ctx, db, cfg.Cluster, database, views)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", database, err)
	}
	names := make([]string, len(views))
	for i, v := range views {
		names[i] = v.Name
	}
	log.InfoContext(ctx, "report views created", "database", database, "views", names)

	if cfg.EventsTTL != nil {
		changed, err := applyRetention(ctx, db, cfg.Cluster, database, *cfg.EventsTTL)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", database, err)
		}
		log.InfoContext(ctx, "events retention", "database", database,
			"ttl", retentionText(*cfg.EventsTTL), "changed", changed)
	}
	return nil
}

// migrateReadTimeout is how long migrate waits for one statement's answer
// unless the DSN says otherwise (read_timeout): a migration that copies a
// table (00011) answers only when the copy is done, about 30 s per 10 M
// events on 2 cores, past clickhouse-go's default of 300 s from about
// 100 M events.
const migrateReadTimeout = 24 * time.Hour

// migrateOptions are the connection options of migrate (its database
// handle, and the connection to "default" that creates the database):
// ParseDSN's, with migrateReadTimeout when the DSN sets no read_timeout.
func migrateOptions(dsn string) (*ch.Options, error) {
	opts, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = migrateReadTimeout
	}
	return opts, nil
}

// ErrWrongMode is returned by MigrateWith when the database was migrated
// for a single node and --cluster is given, or the other way round: the two
// schemas cannot be converted into each other in place (sql/README.md,
// "Cluster", explains how to move).
var ErrWrongMode = errors.New("database was migrated in the other mode")

// checkMode refuses to migrate a database whose events table says it was
// made in the other mode: a Distributed table on a cluster, a MergeTree on
// a single node. A database without events is new.
func checkMode(ctx context.Context, conn driver.Conn, database, cluster string) error {
	var engine string
	err := conn.QueryRow(ch.Context(ctx, ch.WithParameters(ch.Parameters{"db": database})),
		`SELECT engine FROM system.tables WHERE database = {db:String} AND name = 'events'`).Scan(&engine)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("migrate: read engine of %s.events: %w", database, classify(err))
	case cluster != "" && engine != "Distributed":
		return fmt.Errorf("migrate --cluster %s: %w: %s.events is a %s table on this node, not Distributed", cluster, ErrWrongMode, database, engine)
	case cluster == "" && engine == "Distributed":
		return fmt.Errorf("migrate: %w: %s.events is a Distributed table: pass --cluster", ErrWrongMode, database)
	}
	return nil
}

// retentionText is a retention for logs: "forever" or hours/days.
func retentionText(d time.Duration) string {
	switch {
	case d == 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	default:
		return d.String()
	}
}

// newProvider returns the goose provider of the embedded migrations: as
// they are with goose's ClickHouse store on a single node, in their cluster
// form with the replicated versionStore on a cluster.
func newProvider(db *sql.DB, cluster, database string) (*goose.Provider, error) {
	migrations, err := migrationsFS(cluster, database)
	if err != nil {
		return nil, err
	}
	if cluster == "" {
		return goose.NewProvider(goose.DialectClickHouse, db, migrations,
			goose.WithDisableGlobalRegistry(true))
	}
	return goose.NewProvider(goose.DialectCustom, db, migrations,
		goose.WithDisableGlobalRegistry(true),
		goose.WithStore(newClusterVersionStore(cluster, database)))
}

// migrationsFS returns sql/migrations, in cluster form when cluster is set.
func migrationsFS(cluster, database string) (fs.FS, error) {
	migrations, err := fs.Sub(sqlfiles.Migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if cluster == "" {
		return migrations, nil
	}
	return ClusterMigrations(migrations, cluster, database)
}

// createDatabaseSQL creates database, on every node of cluster if set.
func createDatabaseSQL(cluster, database string) string {
	stmt := "CREATE DATABASE IF NOT EXISTS " + ident(database)
	if cluster != "" {
		stmt += " ON CLUSTER " + ident(cluster)
	}
	return stmt
}

// viewStatement is the statement that creates or replaces v: on a single
// node v's own, on a cluster its ON CLUSTER form, the view on every node
// reading the Distributed tables.
func viewStatement(cluster, database string, v View) (string, error) {
	if cluster == "" {
		return v.statement(), nil
	}
	out, err := clusterRewriter{cluster: cluster, database: database}.Statement(v.statement())
	if err != nil {
		return "", fmt.Errorf("view %s: %w", v.Name, err)
	}
	return strings.Join(out, ";\n"), nil
}

// PlannedStatement is one statement of MigrationPlan.
type PlannedStatement struct {
	Comment string // what it is: --print writes it above the statement
	SQL     string // without a trailing semicolon
}

// MigrationPlan returns every statement MigrateWith runs against an empty
// database named database, in order: the database (run in database
// default), goose's version table on a cluster, the "up" part of each
// migration (on a database that has some migrations goose runs only the
// later ones), the report views and the events TTL (run only when the
// table's TTL differs).
func MigrationPlan(database string, cfg MigrateConfig) ([]PlannedStatement, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var plan []PlannedStatement
	add := func(comment, sql string) { plan = append(plan, PlannedStatement{comment, strings.TrimSpace(sql)}) }
	if database != defaultDatabase {
		add("in database default", createDatabaseSQL(cfg.Cluster, database))
	}
	if cfg.Cluster != "" {
		add("goose's version table, replicated to every node", clusterVersionTableSQL(cfg.Cluster, database))
	}
	migrations, err := migrationsFS(cfg.Cluster, database)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		text, err := fs.ReadFile(migrations, name)
		if err != nil {
			return nil, err
		}
		stmts, err := upStatements(string(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, stmt := range stmts {
			add("migration "+name, stmt)
		}
	}
	views, err := cfg.views()
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		stmt, err := viewStatement(cfg.Cluster, database, v)
		if err != nil {
			return nil, err
		}
		add("report view, recreated on every run", stmt)
	}
	if cfg.EventsTTL != nil {
		add("retention of raw events: "+retentionText(*cfg.EventsTTL)+" (run only if the TTL differs)",
			retentionSQL(cfg.Cluster, database, *cfg.EventsTTL))
	}
	return plan, nil
}

// MigrationSQL returns MigrationPlan as one script, each statement under
// its comment. `touchstream migrate --print` prints it without connecting.
func MigrationSQL(database string, cfg MigrateConfig) (string, error) {
	plan, err := MigrationPlan(database, cfg)
	if err != nil {
		return "", err
	}
	mode := "a single node"
	if cfg.Cluster != "" {
		mode = "cluster " + cfg.Cluster
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- touchstream migrate: database %s on %s\n", database, mode)
	for _, p := range plan {
		fmt.Fprintf(&b, "\n-- %s\n%s;\n", p.Comment, p.SQL)
	}
	return b.String(), nil
}

// quoteIdent quotes a ClickHouse identifier with backticks.
func quoteIdent(name string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`")
	return "`" + r.Replace(name) + "`"
}
