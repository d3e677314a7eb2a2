package clickhouse

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// dayKey is the sorting key of events from migration 00011 on, as
// system.tables prints it; oldKey the one before.
const (
	dayKey = "toDate(event_time), visitor_id, message_id"
	oldKey = "visitor_id, message_id"
)

// eventsAtVersion10 inserts, into a database at version 10, events of two
// visitors on three days in two months, plus two copies of one event (the
// same key under the old sorting key, one version newer).
func eventsAtVersion10(t *testing.T, admin driver.Conn, database string) {
	t.Helper()
	err := admin.Exec(t.Context(), fmt.Sprintf(`INSERT INTO %s.events
		(message_id, event_time, received_at, type, event_name, touchpoint, visitor_id, revenue, write_key, inserted_at) VALUES
		('a1', '2026-10-30 09:00:00', '2026-10-30 09:00:01', 'page', '', 'web', 'va', 0, 'site', '2026-10-30 09:00:02'),
		('a2', '2026-10-31 23:59:59.999', '2026-11-01 00:00:00', 'track', 'Order Completed', 'web', 'va', 25, 'site', '2026-11-01 00:00:01'),
		('b1', '2026-11-02 12:00:00', '2026-11-02 12:00:01', 'track', 'Product Viewed', 'app', 'vb', 0, 'site', '2026-11-02 12:00:02'),
		('b1', '2026-11-02 12:00:00', '2026-11-02 12:00:05', 'track', 'Product Viewed', 'app', 'vb', 0, 'site', '2026-11-02 12:00:06')`,
		quoteIdent(database)))
	if err != nil {
		t.Fatalf("insert at version 10: %v", err)
	}
}

// finalRows returns events FINAL as sorted "message_id event_time
// received_at" strings, and the table's sorting key.
func finalRows(t *testing.T, admin driver.Conn, database string) (rows []string, key string) {
	t.Helper()
	err := admin.QueryRow(t.Context(), fmt.Sprintf(`SELECT arraySort(groupArray(
		message_id || ' ' || toString(event_time) || ' ' || toString(received_at))) FROM %s.events FINAL`,
		quoteIdent(database))).Scan(&rows)
	if err != nil {
		t.Fatalf("events FINAL: %v", err)
	}
	err = admin.QueryRow(t.Context(),
		"SELECT sorting_key FROM system.tables WHERE database = $1 AND name = 'events'", database).Scan(&key)
	if err != nil {
		t.Fatalf("sorting key: %v", err)
	}
	return rows, key
}

// TestMigrateEventsDayKey migrates a database at version 10 holding
// events and a TTL through 00011: events FINAL must return the same rows,
// now sorted by day first; the TTL must survive (MigrateWith sets it again);
// the copy must be gone; the rollup's materialized view must still see new
// inserts into events. Down must restore the old key with the same rows,
// and Up work again after it.
func TestMigrateEventsDayKey(t *testing.T) {
	t.Parallel()
	database, dsn, admin, provider := databaseAt(t, "chdaykey", 10)
	eventsAtVersion10(t, admin, database)
	const ttl = "toDateTime(event_time) + toIntervalDay(4000)"
	if err := admin.Exec(t.Context(), "ALTER TABLE "+quoteIdent(database)+".events MODIFY TTL "+ttl); err != nil {
		t.Fatal(err)
	}
	before, key := finalRows(t, admin, database)
	if key != oldKey || len(before) != 3 {
		t.Fatalf("at version 10: key %q, rows %q; want %q and 3 rows", key, before, oldKey)
	}

	var logs logBuffer
	if err := Migrate(t.Context(), dsn, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	after, key := finalRows(t, admin, database)
	if key != dayKey || !slices.Equal(after, before) {
		t.Errorf("after 00011: key %q, rows %q; want %q and %q", key, after, dayKey, before)
	}
	var create string
	if err := admin.QueryRow(t.Context(), "SHOW CREATE TABLE "+quoteIdent(database)+".events").Scan(&create); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(create, "\nTTL "+ttl+"\n") || !strings.Contains(logs.String(), `msg="events retention kept"`) {
		t.Errorf("after 00011 the TTL is not kept (logs %s):\n%s", logs.String(), create)
	}
	var left uint64
	if err := admin.QueryRow(t.Context(), "SELECT count() FROM system.tables WHERE database = $1 AND name LIKE 'events_v%'",
		database).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d copies of events left", left)
	}
	if err := admin.Exec(t.Context(), fmt.Sprintf(`INSERT INTO %s.events (message_id, event_time, visitor_id, write_key)
		VALUES ('c1', '2026-11-03 08:00:00', 'vc', 'site')`, quoteIdent(database))); err != nil {
		t.Fatal(err)
	}
	var visitors uint64
	if err := admin.QueryRow(t.Context(), fmt.Sprintf(`SELECT uniqExactMerge(visitors) FROM %s.traffic_daily WHERE day = '2026-11-03'`,
		quoteIdent(database))).Scan(&visitors); err != nil {
		t.Fatal(err)
	}
	if visitors != 1 {
		t.Errorf("traffic_daily on 2026-11-03 after an insert into the new events: %d visitors, want 1", visitors)
	}

	if _, err := provider.DownTo(t.Context(), 10); err != nil {
		t.Fatalf("down to 10: %v", err)
	}
	down, key := finalRows(t, admin, database)
	if want := append(slices.Clone(before), "c1 2026-11-03 08:00:00.000 1970-01-01 00:00:00.000"); key != oldKey || !slices.Equal(down, want) {
		t.Errorf("after Down: key %q, rows %q; want %q and %q", key, down, oldKey, want)
	}
	if _, err := provider.Up(t.Context()); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if again, key := finalRows(t, admin, database); key != dayKey || !slices.Equal(again, down) {
		t.Errorf("up again: key %q, rows %q; want %q and %q", key, again, dayKey, down)
	}
}

// TestEventsDayKeyWhileWriting runs 00011's statements one by one on a
// database at version 10, with a processor's write into events between the
// copy and the exchange: the row lands in the old table after the copy
// read it, and must be in the new events all the same.
func TestEventsDayKeyWhileWriting(t *testing.T) {
	t.Parallel()
	database, dsn, admin, _ := databaseAt(t, "chdaykeyw", 10)
	eventsAtVersion10(t, admin, database)
	text, err := sqlfiles.Migrations.ReadFile("migrations/00011_events_day_key.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := upStatements(string(text))
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	copied := false
	for _, s := range stmts {
		if strings.HasPrefix(s, "EXCHANGE") {
			if !copied {
				t.Fatal("00011 exchanges the tables before it copies events")
			}
			if err := admin.Exec(t.Context(), fmt.Sprintf(`INSERT INTO %s.events (message_id, event_time, visitor_id)
				VALUES ('late', '2026-11-02 13:00:00', 'vb')`, quoteIdent(database))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%.60s: %v", s, err)
		}
		copied = copied || strings.HasPrefix(s, "INSERT INTO events_v11")
	}
	rows, key := finalRows(t, admin, database)
	if key != dayKey || len(rows) != 4 || !strings.HasPrefix(rows[3], "late ") {
		t.Errorf("key %q, rows %q; want %q and the 3 rows before the migration and the late one", key, rows, dayKey)
	}
}
