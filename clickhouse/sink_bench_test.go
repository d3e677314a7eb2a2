package clickhouse

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// sinkBenchRows is the size of one batch in BenchmarkSink: the processor's
// default BatchSize (40,000 events a flush).
const sinkBenchRows = 40000

// BenchmarkSink measures issue 8's "ClickHouse writes" figure: rows/s of
// the processor's Sink (WriteEvents: column-wise appends, known column
// types, a deduplication token) against a plain clickhouse-go/v2 batch
// insert of the same rows (PrepareBatch, one Append per row, Send), the way
// the driver's documentation writes a batch. Both write a batch of 40,000
// events shaped as the processor's benchmark events (ids, names, a page
// URL, small JSON properties) into the events table of a migrated database
// of their own on the embedded ClickHouse (so both pay for the same
// ReplacingMergeTree and the traffic_daily materialized view), in
// alternating order, each iteration with fresh message ids so that no
// insert is dropped as a duplicate. After the first round both tables must
// hold the same rows (a checksum over every written column), else the
// benchmark fails. The Sink inserts with its events settings
// (eventInsertSettings: optimize_on_insert = 0), the plain insert with the
// server's defaults.
//
// Background merges of both databases are stopped, so that the engine's
// CPU time around an insert (user + system time of the engine's queries,
// from system.events) is that insert's own; it is less disturbed by other
// load on the machine than the wall time.
//
// Metrics: sink-rows/s, plain-rows/s and ratio = sink / plain (wall time);
// sink-engine-ms and plain-engine-ms, the engine's CPU time per batch.
func BenchmarkSink(b *testing.B) {
	ctx := b.Context()
	_, sinkDB, conn := migratedDB(b)
	_, plainDB, _ := migratedDB(b)
	for _, db := range []string{sinkDB, plainDB} {
		for _, table := range []string{"events", "traffic_daily"} {
			if err := conn.Exec(ctx, fmt.Sprintf("SYSTEM STOP MERGES `%s`.%s", db, table)); err != nil {
				b.Fatalf("stop merges: %v", err)
			}
		}
	}
	sink := NewSink(conn, SinkOptions{Database: sinkDB})
	plainQuery := fmt.Sprintf("INSERT INTO `%s`.events (%s)", plainDB, strings.Join(eventColumns, ", "))

	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	events := make([]pipeline.Event, sinkBenchRows)
	fill := func(round int) {
		for i := range events {
			v := i / 10
			events[i] = pipeline.Event{
				MessageID: fmt.Sprintf("m-%d-%d", round, i), EventTime: t0.Add(time.Duration(i) * time.Second),
				ReceivedAt: t0.Add(time.Duration(i)*time.Second + 40*time.Millisecond),
				Type:       "track", EventName: "Product Viewed", Touchpoint: "web",
				VisitorID: fmt.Sprintf("visitor-%d", v), SessionID: fmt.Sprintf("s-%d", v), Stage: "evaluation",
				Channel: "Organic Search", UTMSource: "google", UTMMedium: "organic",
				PageURL: fmt.Sprintf("https://shop.example/p/item-%d", i%500), PagePath: fmt.Sprintf("/p/item-%d", i%500),
				Referrer: "https://www.google.com/", LibraryName: "analytics.js", DeviceType: "desktop", Browser: "Chrome", OS: "Linux",
				Properties: json.RawMessage(fmt.Sprintf(`{"product_id":"p-%d","price":19.9,"currency":"EUR"}`, i%500)),
				WriteKey:   "dev", EngagementMS: int64(i % 30000),
			}
		}
	}
	plain := func() error {
		batch, err := conn.PrepareBatch(ctx, plainQuery)
		if err != nil {
			return err
		}
		for i := range events {
			e := &events[i]
			if err := batch.Append(e.MessageID, e.EventTime.UTC(), e.ReceivedAt.UTC(), e.Type, e.EventName, e.Touchpoint,
				e.VisitorID, e.UserID, e.SessionID, e.Stage, e.Channel,
				e.UTMSource, e.UTMMedium, e.UTMCampaign, e.ClickIDType, e.ClickID, e.PageURL, e.PagePath, e.Referrer,
				e.LibraryName, e.DeviceType, e.Browser, e.OS, e.Revenue, e.Currency,
				e.OrderID, e.CartID, uint32(e.EngagementMS), string(e.Properties), e.WriteKey); err != nil {
				_ = batch.Abort()
				return err
			}
		}
		return batch.Send()
	}
	checksum := func(db string) (n uint64, sum uint64) {
		q := fmt.Sprintf("SELECT count(), sum(cityHash64(%s)) FROM `%s`.events", strings.Join(eventColumns, ", "), db)
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			b.Fatalf("checksum %s: %v", db, err)
		}
		return n, sum
	}

	// engineCPU is the engine's CPU time so far (all queries).
	engineCPU := func() time.Duration {
		var us uint64
		if err := conn.QueryRow(ctx, "SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')").Scan(&us); err != nil {
			b.Fatalf("system.events: %v", err)
		}
		return time.Duration(us) * time.Microsecond
	}

	var sinkTime, plainTime, sinkEngine, plainEngine time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fill(i)
		b.StartTimer()
		for j := range 2 {
			b.StopTimer()
			cpu := engineCPU()
			b.StartTimer()
			start := time.Now()
			if (i+j)%2 == 0 {
				if err := sink.WriteEvents(ctx, events, fmt.Sprintf("bench-%d", i)); err != nil {
					b.Fatalf("sink: %v", err)
				}
				sinkTime += time.Since(start)
				b.StopTimer()
				sinkEngine += engineCPU() - cpu
				b.StartTimer()
			} else {
				if err := plain(); err != nil {
					b.Fatalf("plain insert: %v", err)
				}
				plainTime += time.Since(start)
				b.StopTimer()
				plainEngine += engineCPU() - cpu
				b.StartTimer()
			}
		}
		if i == 0 {
			b.StopTimer()
			sn, ss := checksum(sinkDB)
			pn, ps := checksum(plainDB)
			if sn != sinkBenchRows || sn != pn || ss != ps {
				b.Fatalf("after one round: sink wrote %d rows (checksum %d), the plain insert %d (checksum %d); want %d each, equal", sn, ss, pn, ps, sinkBenchRows)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	rows := float64(b.N * sinkBenchRows)
	b.ReportMetric(rows/sinkTime.Seconds(), "sink-rows/s")
	b.ReportMetric(rows/plainTime.Seconds(), "plain-rows/s")
	b.ReportMetric(plainTime.Seconds()/sinkTime.Seconds(), "ratio")
	b.ReportMetric(float64(sinkEngine.Milliseconds())/float64(b.N), "sink-engine-ms")
	b.ReportMetric(float64(plainEngine.Milliseconds())/float64(b.N), "plain-engine-ms")
	b.ReportMetric(0, "ns/op")
}
