package report

import (
	"fmt"
	"math"
	"slices"
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

// fev is one row of events with every column the report tests set beyond
// those of ev: each field is the column of the same meaning (site is
// write_key). insertFull writes all of them, a zero field as the column's
// own default (the empty string or 0), except:
//
//   - typ: 'track' when empty;
//   - props (properties, JSON text): '{}' when empty;
//   - insertedAt: the time of the insertFull call when zero (the column's
//     default is the insert's now64(3)); set it to replace an earlier row
//     of the same visitor and id (events FINAL).
type fev struct {
	id, visitor, user, name, typ, path string
	at                                 time.Time
	session, cart, orderID             string
	channel, touchpoint, campaign      string
	device, source, props              string
	revenue                            float64
	site                               string
	insertedAt                         time.Time
}

// insertFull inserts rows with one plain INSERT ... VALUES statement.
func insertFull(t *testing.T, conn driver.Conn, rows ...fev) {
	t.Helper()
	now := time.Now()
	var values []string
	for _, r := range rows {
		if r.typ == "" {
			r.typ = "track"
		}
		if r.props == "" {
			r.props = "{}"
		}
		if r.insertedAt.IsZero() {
			r.insertedAt = now
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %v, %s, %s)",
			sqlString(r.id), sqlTime(r.at), sqlString(r.name), sqlString(r.typ), sqlString(r.visitor), sqlString(r.user),
			sqlString(r.path), sqlString(r.session), sqlString(r.cart), sqlString(r.orderID),
			sqlString(r.channel), sqlString(r.touchpoint), sqlString(r.campaign),
			sqlString(r.device), sqlString(r.source), sqlString(r.props), r.revenue, sqlString(r.site), sqlTime(r.insertedAt)))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, event_name, type, visitor_id, user_id, page_path, session_id, cart_id, order_id, "+
		"traffic_channel, touchpoint, utm_campaign, device_type, utm_source, properties, revenue, write_key, inserted_at) VALUES "+
		strings.Join(values, ", "))
}

// unnamedAsHome returns rows with each row without a name made a page view
// named "Home"; the named rows stay as they are (track calls unless typ
// says otherwise).
func unnamedAsHome(rows ...fev) []fev {
	out := slices.Clone(rows)
	for i := range out {
		if out[i].name == "" {
			out[i].typ, out[i].name = "page", "Home"
		}
	}
	return out
}

// sess is one row (one version) of sessions; zero fields are written as
// zero (the empty string or 0), version included.
type sess struct {
	id, visitor         string
	start               time.Time
	duration            time.Duration
	pageViews           int
	engagedMS           int
	conversions         int
	channel, touchpoint string
	version             int
	deleted             bool
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
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %d, %d, %d, %s, %s, %d, %d)",
			sqlString(r.id), sqlString(r.visitor), sqlTime(r.start), sqlTime(r.start.Add(r.duration)),
			r.pageViews, r.engagedMS, r.conversions, sqlString(r.channel), sqlString(r.touchpoint), r.version, deleted))
	}
	exec(t, conn, "INSERT INTO sessions (session_id, visitor_id, start_time, end_time, page_views, engaged_msec, conversions, traffic_channel, touchpoint, version, is_deleted) VALUES "+
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
