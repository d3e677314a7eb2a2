package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"

	"github.com/touchstream/touchstream/embedded/chdb"
	"github.com/touchstream/touchstream/embedded/clickhouse"
)

func runClickHouse(ctx context.Context, args []string) error {
	cfg := clickhouse.DefaultConfig()
	fs := newFlagSet("clickhouse", "CLICKHOUSE_")
	fs.String(&cfg.Listen, "listen", "address of the HTTP interface; a non-loopback address needs --password")
	fs.String(&cfg.Path, "path", "data directory of the engine")
	fs.String(&cfg.User, "user", "user name checked when a password is set")
	fs.Secret(&cfg.Password, "password", "password for Basic auth / X-ClickHouse-Key (prefer the env variable)")
	fs.Int(&cfg.MaxQueries, "max-queries", "statements running at once; more wait")
	fs.Int(&cfg.MaxSessions, "max-sessions", "open session_id sessions")
	fs.Duration(&cfg.SessionTimeout, "session-timeout", "default idle timeout of a session")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := clickhouse.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Run(ctx, nil); err != nil {
		return err
	}
	// Every connection is closed and the data is on disk; stopping the
	// engine's threads is a courtesy that chDB may decline.
	if err := chdb.Shutdown(); err != nil {
		cfg.Logger.Debug("chdb shutdown", "err", err)
	}
	return nil
}
