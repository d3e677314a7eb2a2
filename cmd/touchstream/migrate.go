package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/report"
)

func runMigrate(ctx context.Context, args []string) error {
	return migrate(ctx, args, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil)))
}

// migrate is `touchstream migrate`: it applies the migrations, or with
// --print writes the SQL it would run to stdout without connecting.
func migrate(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	dsn := clickhouse.DefaultDSN
	var cluster, ttl string
	var printSQL bool
	fs := newFlagSet("migrate", "")
	fs.Set.String(&dsn, "clickhouse-dsn", "TOUCHSTREAM_CLICKHOUSE_DSN", "ClickHouse to migrate: http://host:8123/db or clickhouse://host:9000/db")
	fs.Set.String(&cluster, "cluster", "TOUCHSTREAM_CLICKHOUSE_CLUSTER",
		"migrate every node of this ClickHouse cluster (remote_servers name): replicated <table>_local tables and Distributed tables under the public names, ON CLUSTER; empty: a single node")
	fs.Set.String(&ttl, "events-ttl", "TOUCHSTREAM_EVENTS_TTL",
		"retention of raw events by event_time: 400d, 8w, 720h; 0 keeps them forever (removes a TTL); empty leaves the table's TTL as it is (none on a new database)")
	fs.Set.Bool(&printSQL, "print", "TOUCHSTREAM_MIGRATE_PRINT",
		"print the SQL migrate runs on an empty database, for the DSN's database, and exit without connecting")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	views, err := report.Views()
	if err != nil {
		return err
	}
	cfg := clickhouse.MigrateConfig{Cluster: cluster, Views: views}
	if ttl != "" {
		d, err := clickhouse.ParseRetention(ttl)
		if err != nil {
			return err
		}
		cfg.EventsTTL = &d
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if printSQL {
		opts, err := clickhouse.ParseDSN(dsn)
		if err != nil {
			return err
		}
		script, err := clickhouse.MigrationSQL(opts.Auth.Database, cfg)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, script)
		return err
	}
	return clickhouse.MigrateWith(ctx, dsn, cfg, log)
}
