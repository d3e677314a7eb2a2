package clickhouse

import (
	"fmt"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// TestMigrateAddsClickIDs migrates a database that is at version 6 (before
// 00007_click_ids.sql) and holds an event: Migrate must add click_id_type
// and click_id after utm_campaign, the old row must read them as ”, and
// the Sink must write them. Down must drop them again and Up re-add them.
func TestMigrateAddsClickIDs(t *testing.T) {
	t.Parallel()
	database, dsn, admin, provider := databaseAt(t, "chclickid", 6)
	columns := func() string {
		t.Helper()
		var names string
		q := fmt.Sprintf(`SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.columns
			WHERE database = '%s' AND table = 'events' AND name IN ('utm_campaign', 'click_id_type', 'click_id', 'page_url')
			ORDER BY position)`, database)
		if err := admin.QueryRow(t.Context(), q).Scan(&names); err != nil {
			t.Fatalf("columns: %v", err)
		}
		return names
	}
	if got := columns(); got != "utm_campaign,page_url" {
		t.Fatalf("version 6 has columns %s", got)
	}
	old := fmt.Sprintf(`INSERT INTO %s.events (message_id, event_time, received_at, type, touchpoint, visitor_id, page_url)
		VALUES ('old-1', '2026-11-20 10:00:00', '2026-11-20 10:00:01', 'page', 'web', 'anon-1', 'https://shop.test/?gclid=G')`, quoteIdent(database))
	if err := admin.Exec(t.Context(), old); err != nil {
		t.Fatalf("insert at version 6: %v", err)
	}

	if err := Migrate(t.Context(), dsn, testLogger(t)); err != nil {
		t.Fatalf("migrate the existing database: %v", err)
	}
	if got := columns(); got != "utm_campaign,click_id_type,click_id,page_url" {
		t.Fatalf("after Migrate: columns %s", got)
	}
	conn, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	at := time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)
	sink := NewSink(conn, SinkOptions{Database: database})
	err = sink.WriteEvents(t.Context(), []pipeline.Event{{
		MessageID: "new-1", EventTime: at, ReceivedAt: at, Type: pipeline.TypePage, Touchpoint: pipeline.TouchpointWeb,
		VisitorID: "anon-1", ClickIDType: "gclid", ClickID: "G", PageURL: "https://shop.test/cart",
	}}, "clickid-1")
	if err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	got := readEvents(t, conn, database)
	if len(got) != 2 || got[0].MessageID != "new-1" || got[1].MessageID != "old-1" {
		t.Fatalf("read %+v", got)
	}
	if got[0].ClickIDType != "gclid" || got[0].ClickID != "G" {
		t.Errorf("new event: click id %q = %q, want gclid = G", got[0].ClickIDType, got[0].ClickID)
	}
	if got[1].ClickIDType != "" || got[1].ClickID != "" {
		t.Errorf("event written before the migration: click id %q = %q, want empty", got[1].ClickIDType, got[1].ClickID)
	}

	if _, err := provider.DownTo(t.Context(), 6); err != nil {
		t.Fatalf("down to 6: %v", err)
	}
	if got := columns(); got != "utm_campaign,page_url" {
		t.Errorf("after Down: columns %s", got)
	}
	if _, err := provider.Up(t.Context()); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if got := columns(); got != "utm_campaign,click_id_type,click_id,page_url" {
		t.Errorf("after Up again: columns %s", got)
	}
}
