package report

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
)

// migratedConn creates and migrates a database of the test's own on the
// embedded ClickHouse (clickhouse.Migrate) and connects to it.
func migratedConn(t *testing.T) driver.Conn {
	t.Helper()
	return migratedConnWith(t, clickhouse.MigrateConfig{})
}

// migratedConnWith is migratedConn migrating with cfg.
func migratedConnWith(t *testing.T, cfg clickhouse.MigrateConfig) driver.Conn {
	t.Helper()
	dsn := testenv.ClickHouse(t) + "/" + testenv.Database(t, "report")
	if err := clickhouse.MigrateWith(t.Context(), dsn, cfg, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ev is one row of events; zero fields take the column defaults.
type ev struct {
	id, visitor, name string
	at                time.Time
	cart, session     string
	site              string
	insertedAt        time.Time // set to replace an earlier row of the same id
}

// sqlString quotes s as a ClickHouse string literal (test data only; the
// reports themselves bind every value as a parameter).
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func sqlTime(t time.Time) string { return sqlString(t.UTC().Format("2006-01-02 15:04:05.000")) }

// insertEvents inserts rows with one plain INSERT ... VALUES statement.
func insertEvents(t *testing.T, conn driver.Conn, rows ...ev) {
	t.Helper()
	var values []string
	for _, r := range rows {
		inserted := r.insertedAt
		if inserted.IsZero() {
			inserted = time.Now()
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %s, %s, 'track')",
			sqlString(r.id), sqlTime(r.at), sqlString(r.name), sqlString(r.visitor),
			sqlString(r.cart), sqlString(r.session), sqlString(r.site), sqlTime(inserted)))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, event_name, visitor_id, cart_id, session_id, write_key, inserted_at, type) VALUES "+
		strings.Join(values, ", "))
}

// sess is one row (one version) of sessions.
type sess struct {
	id, visitor string
	start       time.Time
	duration    time.Duration
	pageViews   int
	engagedMS   int
	conversions int
	version     int
	deleted     bool
}

// insertSessions inserts rows with one plain INSERT ... VALUES statement.
func insertSessions(t *testing.T, conn driver.Conn, rows ...sess) {
	t.Helper()
	var values []string
	for _, r := range rows {
		deleted := 0
		if r.deleted {
			deleted = 1
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %d, %d, %d, %d, %d)",
			sqlString(r.id), sqlString(r.visitor), sqlTime(r.start), sqlTime(r.start.Add(r.duration)),
			r.pageViews, r.engagedMS, r.conversions, r.version, deleted))
	}
	exec(t, conn, "INSERT INTO sessions (session_id, visitor_id, start_time, end_time, page_views, engaged_msec, conversions, version, is_deleted) VALUES "+
		strings.Join(values, ", "))
}

func exec(t *testing.T, conn driver.Conn, query string) {
	t.Helper()
	if err := conn.Exec(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// near reports whether a and b agree to 1e-9.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

// date is midnight UTC of a day.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
