package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"

	"github.com/touchstream/touchstream/clickhouse"
)

func runMigrate(ctx context.Context, args []string) error {
	dsn := clickhouse.DefaultDSN
	fs := newFlagSet("migrate", "")
	fs.Set.String(&dsn, "clickhouse-dsn", "TOUCHSTREAM_CLICKHOUSE_DSN", "ClickHouse to migrate: http://host:8123/db or clickhouse://host:9000/db")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	return clickhouse.Migrate(ctx, dsn, slog.New(slog.NewTextHandler(os.Stderr, nil)))
}
