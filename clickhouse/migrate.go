package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/pressly/goose/v3"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// Migrate brings the database named in dsn up to the newest migration in
// sql/migrations: it creates the database if it is missing (connected to the
// "default" database for that), then applies every pending migration with
// goose, logging each one applied. Running it again applies nothing. goose
// records versions in goose_db_version inside the target database.
func Migrate(ctx context.Context, dsn string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "migrate")
	opts, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	database := opts.Auth.Database
	if database != defaultDatabase {
		admin := *opts
		admin.Auth.Database = defaultDatabase
		conn, err := open(ctx, &admin)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(database))
		err = errors.Join(err, conn.Close())
		if err != nil {
			return fmt.Errorf("migrate: create database %s: %w", database, classify(err))
		}
	}

	migrations, err := fs.Sub(sqlfiles.Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db, err := OpenDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectClickHouse, db, migrations,
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
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
		return fmt.Errorf("migrate %s: %w", database, classify(err))
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
	if err := createViews(ctx, db); err != nil {
		return fmt.Errorf("migrate %s: %w", database, err)
	}
	views := make([]string, len(ReportViews))
	for i, v := range ReportViews {
		views[i] = v.View
	}
	log.InfoContext(ctx, "report views created", "database", database, "views", views)
	return nil
}

// quoteIdent quotes a ClickHouse identifier with backticks.
func quoteIdent(name string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`")
	return "`" + r.Replace(name) + "`"
}
