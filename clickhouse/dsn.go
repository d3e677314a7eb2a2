package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DefaultDSN is the embedded ClickHouse's HTTP interface on its default
// address, database touchstream.
const DefaultDSN = "http://127.0.0.1:8123/touchstream"

// defaultDatabase is the database a DSN without a path names, and the one
// Migrate connects to before the target database exists.
const defaultDatabase = "default"

// ParseDSN parses a ClickHouse DSN into clickhouse-go options:
//
//	http://[user[:password]@]host:8123/database   HTTP interface (the embedded ClickHouse)
//	https://...?secure=true                         HTTP interface over TLS
//	clickhouse://[user[:password]@]host:9000/database  native protocol (a real server)
//
// Query parameters are clickhouse-go's (dial_timeout, compress, secure, any
// ClickHouse setting, ...). A DSN without a database names "default".
func ParseDSN(dsn string) (*ch.Options, error) {
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse clickhouse dsn: %w", err)
	}
	// clickhouse-go takes any scheme other than http(s) for the native
	// protocol; refuse the ones that are plainly something else.
	switch scheme := schemeOf(dsn); scheme {
	case "http", "https":
		if opts.Protocol != ch.HTTP {
			return nil, fmt.Errorf("parse clickhouse dsn: scheme %s: not the HTTP protocol", scheme)
		}
	case "clickhouse", "tcp":
		opts.Protocol = ch.Native
	default:
		return nil, fmt.Errorf("parse clickhouse dsn: scheme %q: want http, https or clickhouse", scheme)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = defaultDatabase
	}
	return opts, nil
}

// schemeOf returns the part of dsn before "://", or "" without one.
func schemeOf(dsn string) string {
	for i := 0; i+2 < len(dsn); i++ {
		if dsn[i] == ':' {
			if dsn[i+1] == '/' && dsn[i+2] == '/' {
				return dsn[:i]
			}
			return ""
		}
	}
	return ""
}

// Open connects to the ClickHouse named by dsn (see ParseDSN) and checks the
// connection with a ping. The caller closes the connection.
func Open(ctx context.Context, dsn string) (driver.Conn, error) {
	opts, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return open(ctx, opts)
}

func open(ctx context.Context, opts *ch.Options) (driver.Conn, error) {
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("ping clickhouse: %w", classify(err)), conn.Close())
	}
	return conn, nil
}

// OpenDB returns a database/sql handle on the ClickHouse named by dsn (see
// ParseDSN), as goose and other database/sql tools want it. It does not
// connect until first used.
func OpenDB(dsn string) (*sql.DB, error) {
	opts, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return ch.OpenDB(opts), nil
}
