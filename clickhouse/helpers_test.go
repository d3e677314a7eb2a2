package clickhouse

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/pressly/goose/v3"

	"github.com/touchstream/touchstream/internal/testenv"
)

// migratedDB creates and migrates a database of its own for the test (or
// benchmark) on the embedded ClickHouse and returns its DSN, its name and a connection to it.
func migratedDB(t testing.TB) (dsn, database string, conn driver.Conn) {
	t.Helper()
	database = testenv.Database(t, "chadapter")
	dsn = testenv.ClickHouse(t) + "/" + database
	logger := testLogger(t)
	if _, ok := t.(*testing.B); ok {
		logger = slog.New(slog.DiscardHandler) // a benchmark prints its log always
	}
	if err := Migrate(t.Context(), dsn, logger); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return dsn, database, conn
}

// databaseAt creates a database of its own for the test (its name from
// prefix) migrated up to version only, as production has it before a later
// migration, and returns its name, its DSN, a connection to the server
// (not the database) and the database's goose provider, to migrate it on
// or down with. The connections are closed when the test ends.
func databaseAt(t *testing.T, prefix string, version int64) (database, dsn string, admin driver.Conn, provider *goose.Provider) {
	t.Helper()
	database = testenv.Database(t, prefix)
	dsn = testenv.ClickHouse(t) + "/" + database
	admin, err := Open(t.Context(), testenv.ClickHouse(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.Exec(t.Context(), "CREATE DATABASE "+quoteIdent(database)); err != nil {
		t.Fatalf("create database: %v", err)
	}
	db, err := OpenDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if provider, err = newProvider(db, "", database); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(t.Context(), version); err != nil {
		t.Fatalf("migrate up to %d: %v", version, err)
	}
	return database, dsn, admin, provider
}

// testLogger logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// logBuffer is a concurrency-safe buffer for captured log output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
