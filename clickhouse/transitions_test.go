package clickhouse

import (
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

func TestWriteStageTransitions(t *testing.T) {
	_, db, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: db})
	at := time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC)
	rows := []pipeline.StageTransition{
		{VisitorID: "v1", UserID: "u1", ToStage: "awareness", EventTime: at, MessageID: "m1", SessionID: "s1", Touchpoint: "web", Channel: "Organic Search"},
		{VisitorID: "v1", UserID: "u1", FromStage: "awareness", ToStage: "evaluation", EventTime: at.Add(time.Minute), MessageID: "m2", SessionID: "s1", Touchpoint: "web", Channel: "Organic Search"},
	}
	ctx := t.Context()
	for range 2 { // a retried batch with its token lands once
		if err := sink.WriteStageTransitions(ctx, rows, "tok-1"); err != nil {
			t.Fatal(err)
		}
	}
	// The same rows under another token (a replay cut differently) are
	// folded by the (visitor_id, message_id) key in FINAL reads.
	if err := sink.WriteStageTransitions(ctx, rows, "tok-2"); err != nil {
		t.Fatal(err)
	}
	var raw, final uint64
	if err := conn.QueryRow(ctx, "SELECT (SELECT count() FROM "+db+".stage_transitions), (SELECT count() FROM "+db+".stage_transitions FINAL)").Scan(&raw, &final); err != nil {
		t.Fatal(err)
	}
	if raw != 4 || final != 2 {
		t.Errorf("rows: %d raw, %d final; want 4 and 2", raw, final)
	}
	var from, to, channel string
	var when time.Time
	if err := conn.QueryRow(ctx, "SELECT from_stage, to_stage, traffic_channel, event_time FROM "+db+".stage_transitions FINAL WHERE message_id = 'm2'").Scan(&from, &to, &channel, &when); err != nil {
		t.Fatal(err)
	}
	if from != "awareness" || to != "evaluation" || channel != "Organic Search" || !when.Equal(at.Add(time.Minute)) {
		t.Errorf("row m2: %q -> %q %q %v", from, to, channel, when)
	}
	if err := sink.WriteStageTransitions(ctx, nil, "tok-3"); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}
