package clickhouse

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// TestMigrateAddsVisitorKey migrates a database at version 8 (before
// 00009_events_visitor_key.sql) that holds events of two visitors to 9, then
// writes another event of one of them through the Sink. visitor_key must be
// the same number for every row of a visitor, in the part written before
// the migration (computed when read) and after it (computed on insert),
// and again once a merge has written it; it must differ between the two
// visitors, equal murmurHash3_128 of the visitor_id, and stay out of
// `SELECT *`. Down must drop it.
func TestMigrateAddsVisitorKey(t *testing.T) {
	t.Parallel()
	database, dsn, admin, provider := databaseAt(t, "chvisitorkey", 8)
	old := fmt.Sprintf(`INSERT INTO %s.events (message_id, event_time, received_at, type, touchpoint, visitor_id)
		VALUES ('old-1', '2026-11-20 10:00:00', '2026-11-20 10:00:01', 'page', 'web', 'anon-1'),
		       ('old-2', '2026-11-20 10:00:00', '2026-11-20 10:00:01', 'page', 'web', 'anon-2')`, quoteIdent(database))
	if err := admin.Exec(t.Context(), old); err != nil {
		t.Fatalf("insert at version 8: %v", err)
	}

	// Up to 9 only: 00011 copies every row into a new table, which would
	// write the key of the old part too.
	if _, err := provider.UpTo(t.Context(), 9); err != nil {
		t.Fatalf("migrate the existing database to 9: %v", err)
	}
	conn, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	at := time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)
	err = NewSink(conn, SinkOptions{Database: database}).WriteEvents(t.Context(), []pipeline.Event{{
		MessageID: "new-1", EventTime: at, ReceivedAt: at, Type: pipeline.TypePage, Touchpoint: pipeline.TouchpointWeb,
		VisitorID: "anon-1",
	}}, "visitorkey-1")
	if err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}

	// keys: per visitor, its rows' distinct keys, whether they equal
	// murmurHash3_128 of the id, and the number of rows
	keys := func(when string) {
		t.Helper()
		rows, err := conn.Query(t.Context(), `
			SELECT visitor_id, groupUniqArray(toString(visitor_key)),
			       countIf(visitor_key != reinterpretAsUInt128(murmurHash3_128(visitor_id))), count()
			FROM events GROUP BY visitor_id ORDER BY visitor_id`)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		defer rows.Close()
		var got []string
		seen := map[string]string{}
		for rows.Next() {
			var (
				visitor  string
				distinct []string
				wrong, n uint64
			)
			if err := rows.Scan(&visitor, &distinct, &wrong, &n); err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if len(distinct) != 1 || wrong != 0 {
				t.Errorf("%s: %s has keys %v (%d not murmurHash3_128 of the id)", when, visitor, distinct, wrong)
			} else if other, ok := seen[distinct[0]]; ok {
				t.Errorf("%s: %s and %s share the key %s", when, visitor, other, distinct[0])
			} else {
				seen[distinct[0]] = visitor
			}
			got = append(got, fmt.Sprintf("%s:%d", visitor, n))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if strings.Join(got, " ") != "anon-1:2 anon-2:1" {
			t.Errorf("%s: rows per visitor %v, want anon-1:2 anon-2:1", when, got)
		}
	}
	keys("after the migration")
	var parts uint64
	if err := conn.QueryRow(t.Context(), fmt.Sprintf(
		"SELECT count() FROM system.parts WHERE database = '%s' AND table = 'events' AND active", database)).Scan(&parts); err != nil {
		t.Fatal(err)
	}
	if parts != 2 {
		t.Fatalf("%d parts before the merge, want the one written at version 8 and the Sink's", parts)
	}
	if err := conn.Exec(t.Context(), "OPTIMIZE TABLE events FINAL"); err != nil {
		t.Fatalf("optimize: %v", err)
	}
	keys("after a merge")

	star, err := conn.Query(t.Context(), "SELECT * FROM events LIMIT 1")
	if err != nil {
		t.Fatalf("select *: %v", err)
	}
	columns := strings.Join(star.Columns(), ",")
	star.Close()
	if strings.Contains(columns, "visitor_key") || !strings.Contains(columns, "visitor_id") {
		t.Errorf("SELECT * returns %s: want visitor_id and not visitor_key", columns)
	}

	if _, err := provider.DownTo(t.Context(), 8); err != nil {
		t.Fatalf("down to 8: %v", err)
	}
	var left uint64
	if err := admin.QueryRow(t.Context(), fmt.Sprintf(
		"SELECT count() FROM system.columns WHERE database = '%s' AND table = 'events' AND name = 'visitor_key'", database)).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("after Down: visitor_key is still there")
	}
}
