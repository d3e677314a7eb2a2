package clickhouse

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/pipeline"
)

// readIdentities reads every identity link of database back with FINAL,
// ordered by visitor_id and user_id.
func readIdentities(t *testing.T, conn driver.Conn, database string) []pipeline.Identity {
	t.Helper()
	rows, err := conn.Query(t.Context(), fmt.Sprintf(`SELECT visitor_id, user_id, first_seen, last_seen, source, message_id
		FROM %s.identities FINAL ORDER BY visitor_id, user_id`, quoteIdent(database)))
	if err != nil {
		t.Fatalf("select identities: %v", err)
	}
	defer rows.Close()
	var out []pipeline.Identity
	for rows.Next() {
		var id pipeline.Identity
		if err := rows.Scan(&id.VisitorID, &id.UserID, &id.FirstSeen, &id.LastSeen, &id.Source, &id.MessageID); err != nil {
			t.Fatalf("scan identity: %v", err)
		}
		id.FirstSeen, id.LastSeen = id.FirstSeen.UTC(), id.LastSeen.UTC()
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return out
}

func TestWriteIdentities(t *testing.T) {
	t.Parallel()
	_, db, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: db})
	ctx := t.Context()
	at := time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC)
	rows := []pipeline.Identity{
		{VisitorID: "a1", UserID: "u1", FirstSeen: at, LastSeen: at, Source: pipeline.IdentitySourceIdentify, MessageID: "m1"},
		{VisitorID: "a2", UserID: "u1", FirstSeen: at.Add(time.Hour), LastSeen: at.Add(2 * time.Hour), Source: pipeline.IdentitySourceEvent, MessageID: "m2"},
		{VisitorID: "a3", UserID: "u2", FirstSeen: at, LastSeen: at, Source: pipeline.IdentitySourceAlias, MessageID: "m3"},
	}
	for range 2 { // a retried batch with its token lands once
		if err := sink.WriteIdentities(ctx, rows, "tok-1"); err != nil {
			t.Fatal(err)
		}
	}
	table := quoteIdent(db) + ".identities"
	if n := count(t, conn, "SELECT count() FROM "+table); n != 3 {
		t.Errorf("after a retried batch: %d rows, want 3", n)
	}
	if got := readIdentities(t, conn, db); !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rows)
	}

	// The same links written again (a replay cut differently, or a restart
	// that forgot them) fold by (visitor_id, user_id), keeping the newest
	// last_seen: an older row does not replace a newer one.
	older := rows[1]
	older.LastSeen, older.MessageID = at.Add(time.Hour), "m-old"
	newer := rows[0]
	newer.FirstSeen, newer.LastSeen, newer.MessageID = at.Add(24*time.Hour), at.Add(24*time.Hour), "m-new"
	if err := sink.WriteIdentities(ctx, []pipeline.Identity{older, newer}, "tok-2"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, conn, "SELECT count() FROM "+table); n != 5 {
		t.Errorf("raw rows: %d, want 5", n)
	}
	want := []pipeline.Identity{newer, rows[1], rows[2]}
	if got := readIdentities(t, conn, db); !reflect.DeepEqual(got, want) {
		t.Errorf("after rewrites:\n got %+v\nwant %+v", got, want)
	}
	if err := sink.WriteIdentities(ctx, nil, "tok-3"); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func TestPersonsView(t *testing.T) {
	t.Parallel()
	_, db, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: db})
	ctx := t.Context()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	link := func(visitor, user string, first, last time.Duration) pipeline.Identity {
		return pipeline.Identity{VisitorID: visitor, UserID: user, FirstSeen: at.Add(first), LastSeen: at.Add(last),
			Source: pipeline.IdentitySourceEvent, MessageID: visitor + "-" + user}
	}
	batches := [][]pipeline.Identity{
		{
			link("phone", "alice", 0, time.Hour),              // two devices of one user
			link("laptop", "alice", 2*time.Hour, 3*time.Hour), //
			link("kiosk", "bob", 0, time.Hour),                // a shared device: the newest link wins
			link("kiosk", "carol", 2*time.Hour, 2*time.Hour),
			link("tie", "dave", 0, time.Hour), // equal last_seen: the greater user_id wins
			link("tie", "erin", 0, time.Hour),
		},
		// A later row for kiosk-bob makes bob its person again.
		{link("kiosk", "bob", 0, 5*time.Hour)},
	}
	for i, b := range batches {
		if err := sink.WriteIdentities(ctx, b, fmt.Sprintf("tok-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.Query(ctx, "SELECT visitor_id, person_id, linked_users, first_linked, last_linked FROM "+
		quoteIdent(db)+".persons ORDER BY visitor_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type person struct {
		visitor, person string
		users           uint64
		first, last     time.Time
	}
	var got []person
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.visitor, &p.person, &p.users, &p.first, &p.last); err != nil {
			t.Fatal(err)
		}
		p.first, p.last = p.first.UTC(), p.last.UTC()
		got = append(got, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []person{
		{"kiosk", "bob", 2, at, at.Add(5 * time.Hour)},
		{"laptop", "alice", 1, at.Add(2 * time.Hour), at.Add(3 * time.Hour)},
		{"phone", "alice", 1, at, at.Add(time.Hour)},
		{"tie", "erin", 2, at, at.Add(time.Hour)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("persons:\n got %+v\nwant %+v", got, want)
	}
}

func TestIdentitiesStatement(t *testing.T) {
	for _, tc := range []struct{ database, want string }{
		{"", "INSERT INTO `identities` (visitor_id, user_id, first_seen, last_seen, source, message_id)"},
		{"touchstream", "INSERT INTO `touchstream`.`identities` (visitor_id, user_id, first_seen, last_seen, source, message_id)"},
		{"events", "INSERT INTO `events`.`identities` (visitor_id, user_id, first_seen, last_seen, source, message_id)"},
	} {
		if got := NewSink(nil, SinkOptions{Database: tc.database}).identities; got != tc.want {
			t.Errorf("database %q:\n got %s\nwant %s", tc.database, got, tc.want)
		}
	}
}
