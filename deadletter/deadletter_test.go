package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 45 * time.Second

// migratedDB creates and migrates a database of its own on the embedded
// ClickHouse and returns its DSN and a connection to it.
func migratedDB(t *testing.T) (string, driver.Conn) {
	t.Helper()
	dsn := testenv.ClickHouse(t) + "/" + testenv.Database(t, "deadletter")
	if err := clickhouse.Migrate(t.Context(), dsn, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return dsn, open(t, dsn)
}

func open(t *testing.T, dsn string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func testConfig(t *testing.T, brokers, dsn string) Config {
	cfg := DefaultConfig()
	cfg.Brokers = []string{brokers}
	cfg.DSN = dsn
	cfg.FlushInterval = 100 * time.Millisecond
	cfg.MaxRetryInterval = 200 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return cfg
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// start runs c until the test ends (or stop is called) and returns stop,
// which cancels it and returns what it returned.
func start(t *testing.T, c *consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		defer c.close()
		done <- c.run(ctx)
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(waitTimeout):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func newTestConsumer(t *testing.T, cfg Config) *consumer {
	t.Helper()
	c, err := newConsumer(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counts returns the rows of rejected_events: all, under FINAL, and the
// distinct Kafka coordinates.
func counts(t *testing.T, conn driver.Conn) (all, final, distinct uint64) {
	t.Helper()
	if err := conn.QueryRow(t.Context(), `SELECT
		(SELECT count() FROM rejected_events),
		(SELECT count() FROM rejected_events FINAL),
		(SELECT uniqExact(kafka_partition, kafka_offset) FROM rejected_events)`).Scan(&all, &final, &distinct); err != nil {
		t.Fatalf("count rejected_events: %v", err)
	}
	return all, final, distinct
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reject publishes n dead letters as the collector does (kafka.Publisher,
// spread over the partitions), each with a distinct error.
func reject(t *testing.T, addr string, from, n int) {
	t.Helper()
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var dead []pipeline.Rejected
	for i := from; i < from+n; i++ {
		dead = append(dead, pipeline.Rejected{
			ReceivedAt: at.Add(time.Duration(i) * time.Millisecond), Source: "/v1/batch", WriteKey: "dev",
			Index: i % 7, Error: fmt.Sprintf("event %d: bad", i), Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		})
	}
	for len(dead) > 0 {
		k := min(len(dead), 50)
		if err := pub.Reject(t.Context(), dead[:k]); err != nil {
			t.Fatalf("reject: %v", err)
		}
		dead = dead[k:]
	}
}

// TestCollectorDeadLetters sends bad events and a bad request to a real
// collector publishing to the embedded Kafka, and requires exactly its dead
// letters in rejected_events, column by column.
func TestCollectorDeadLetters(t *testing.T) {
	t.Parallel()
	dsn, conn := migratedDB(t)
	s := collectortest.New(t, 2, collector.DefaultConfig())
	url := s.Serve(t)
	post := func(body string, want int) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/batch", strings.NewReader(body))
		req.SetBasicAuth("dev", "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("POST %s: status %d, want %d", body, res.StatusCode, want)
		}
	}
	post(`{"batch":[
		{"type":"track","event":"Product Viewed","anonymousId":"v1","messageId":"m1"},
		{"type":"track","event":"Product Viewed","messageId":"m2"},
		{"type":"nonsense","anonymousId":"v1","messageId":"m3"}]}`, http.StatusOK)
	post(`{"batch": not json`, http.StatusBadRequest)

	reg := prometheus.NewRegistry()
	cfg := testConfig(t, s.Kafka, dsn)
	cfg.Registerer = reg
	stop := start(t, newTestConsumer(t, cfg))
	waitFor(t, "3 dead letters", func() bool { _, final, _ := counts(t, conn); return final >= 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}

	rows, err := conn.Query(t.Context(), `SELECT source, write_key, batch_index, error, payload, received_at
		FROM rejected_events FINAL ORDER BY batch_index`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var source, key, msg, payload string
		var index int32
		var at time.Time
		if err := rows.Scan(&source, &key, &index, &msg, &payload, &at); err != nil {
			t.Fatal(err)
		}
		if msg == "" || at.IsZero() || time.Since(at) > time.Hour {
			t.Errorf("row %d: error %q, received_at %v", index, msg, at)
		}
		got = append(got, fmt.Sprintf("%s %s %d %s", source, key, index, payload))
	}
	want := []string{
		`/v1/batch dev -1 "{\"batch\": not json"`,
		`/v1/batch dev 1 {"type":"track","event":"Product Viewed","messageId":"m2"}`,
		`/v1/batch dev 2 {"type":"nonsense","anonymousId":"v1","messageId":"m3"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if all, final, _ := counts(t, conn); all != 3 || final != 3 {
		t.Errorf("%d rows (%d under FINAL), want 3", all, final)
	}
	if n := metric(t, reg, "touchstream_deadletters_written_total", ""); n != 3 {
		t.Errorf("written_total = %v, want 3", n)
	}

	// The reasons query of OPERATIONS.md ("Dead letters") runs.
	var reasons, total uint64
	if err := conn.QueryRow(t.Context(), `SELECT count(), sum(n) FROM (
		SELECT write_key, source, substringIndex(error, ':', 1) AS reason, count() AS n,
		       any(error) AS example, max(received_at) AS last
		FROM rejected_events FINAL
		WHERE received_at >= now() - INTERVAL 1 DAY
		GROUP BY write_key, source, reason
		ORDER BY n DESC
		LIMIT 50)`).Scan(&reasons, &total); err != nil || reasons < 2 || total != 3 {
		t.Errorf("reasons query: %d reasons, %d dead letters, %v", reasons, total, err)
	}
}

// metric returns the value of the counter name (with label kind=kind
// when kind is not empty) in reg, 0 when it has none.
func metric(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if kind == "" {
				return m.GetCounter().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestCrashAndRestart kills the consumer between a write and its commit,
// and stops another one mid-way by cancelling it: after restarts every dead
// letter is in the table once under FINAL, none lost.
func TestCrashAndRestart(t *testing.T) {
	t.Parallel()
	const n = 400
	addr := testenv.Kafka(t, 3)
	dsn, conn := migratedDB(t)
	reject(t, addr, 0, n)
	cfg := testConfig(t, addr, dsn)
	cfg.BatchSize = 9
	var regs []*prometheus.Registry
	consumer := func() *consumer {
		reg := prometheus.NewRegistry()
		regs = append(regs, reg)
		cfg.Registerer = reg
		return newTestConsumer(t, cfg)
	}

	// 1. A crash after the 4th write, before its commit.
	c := consumer()
	var writes atomic.Int32
	c.crash = func() bool { return writes.Add(1) == 4 }
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	err := c.run(ctx)
	cancel()
	c.close()
	if !errors.Is(err, errCrashed) {
		t.Fatalf("crashed run returned %v, want errCrashed", err)
	}
	all, final, _ := counts(t, conn)
	t.Logf("after the crash: %d rows, %d under FINAL", all, final)
	if final == 0 || final >= n {
		t.Fatalf("after the crash: %d rows under FINAL, want some but not all %d", final, n)
	}

	// 2. A run cancelled mid-way, with more dead letters arriving. Batches
	// are cut differently now, so the crashed batch is written again with
	// another token: its rows land twice, and FINAL must keep one.
	cfg.BatchSize = 7
	reject(t, addr, n, n)
	stop := start(t, consumer())
	waitFor(t, "more rows", func() bool { _, f, _ := counts(t, conn); return f > final+n/4 })
	if err := stop(); err != nil {
		t.Fatalf("cancelled run returned %v", err)
	}
	_, final, _ = counts(t, conn)
	t.Logf("after the cancel: %d rows under FINAL", final)

	// 3. A last run reads the rest.
	stop = start(t, consumer())
	waitFor(t, "all rows", func() bool { _, f, _ := counts(t, conn); return f >= 2*n })
	time.Sleep(2 * cfg.FlushInterval) // nothing more may come
	if err := stop(); err != nil {
		t.Fatalf("last run returned %v", err)
	}
	all, final, distinct := counts(t, conn)
	t.Logf("at the end: %d rows, %d under FINAL, %d distinct offsets", all, final, distinct)
	if final != 2*n || distinct != 2*n {
		t.Errorf("%d rows under FINAL, %d distinct offsets; want %d each", final, distinct, 2*n)
	}
	// Background merges may have collapsed the copies already: count the
	// writes instead.
	var written float64
	for _, reg := range regs {
		written += metric(t, reg, "touchstream_deadletters_written_total", "")
	}
	t.Logf("rows written by the three runs: %v", written)
	if written <= 2*n {
		t.Errorf("%v rows written by the three runs: the crashed batch was not written again", written)
	}
	var errs uint64
	if err := conn.QueryRow(t.Context(), `SELECT uniqExact(error) FROM rejected_events FINAL`).Scan(&errs); err != nil || errs != 2*n {
		t.Errorf("distinct errors %d (%v), want %d", errs, err, 2*n)
	}
}

// TestWaitsForTheTable starts the consumer on a database without the
// table: the write fails permanently, is retried (not dropped, not
// committed), and lands once migrate has created the table.
func TestWaitsForTheTable(t *testing.T) {
	t.Parallel()
	addr := testenv.Kafka(t, 1)
	database := testenv.Database(t, "deadletter_late")
	dsn := testenv.ClickHouse(t) + "/" + database
	admin := open(t, testenv.ClickHouse(t)+"/default")
	if err := admin.Exec(t.Context(), "CREATE DATABASE "+database); err != nil {
		t.Fatal(err)
	}
	reject(t, addr, 0, 5)
	reg := prometheus.NewRegistry()
	cfg := testConfig(t, addr, dsn)
	cfg.Registerer = reg
	start(t, newTestConsumer(t, cfg))
	waitFor(t, "two permanent write errors", func() bool {
		return metric(t, reg, "touchstream_deadletters_write_errors_total", kindPermanent) >= 2
	})
	if err := clickhouse.Migrate(t.Context(), dsn, nil); err != nil {
		t.Fatal(err)
	}
	conn := open(t, dsn)
	waitFor(t, "5 rows", func() bool { _, f, _ := counts(t, conn); return f >= 5 })
	if all, final, _ := counts(t, conn); all != 5 || final != 5 {
		t.Errorf("%d rows (%d under FINAL), want 5", all, final)
	}
}

// TestUndecodableMessage: a message that is not a pipeline.Rejected is
// kept raw, with the Kafka timestamp and an error saying so.
func TestUndecodableMessage(t *testing.T) {
	t.Parallel()
	addr := testenv.Kafka(t, 1)
	dsn, conn := migratedDB(t)
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: pipeline.TopicRejected, RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := w.WriteMessages(t.Context(), kafkago.Message{Value: []byte("not json \xff"), Time: at}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	start(t, newTestConsumer(t, testConfig(t, addr, dsn)))
	waitFor(t, "1 row", func() bool { _, f, _ := counts(t, conn); return f >= 1 })
	var msg, payload string
	var index int32
	var got time.Time
	if err := conn.QueryRow(t.Context(), `SELECT error, payload, batch_index, received_at FROM rejected_events`).Scan(&msg, &payload, &index, &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg, undecodablePrefix) || payload != "not json \xff" || index != -1 || !got.Equal(at) {
		t.Errorf("row: %q %q %d %v; want an undecodable dead letter at %v", msg, payload, index, got, at)
	}
}

// TestRebalance runs two members of the group at once, stops one while
// dead letters keep coming (its partitions move to the other) and requires
// every dead letter once under FINAL.
func TestRebalance(t *testing.T) {
	t.Parallel()
	const n = 300
	addr := testenv.Kafka(t, 4)
	dsn, conn := migratedDB(t)
	cfg := testConfig(t, addr, dsn)
	cfg.BatchSize = 5
	stopA := start(t, newTestConsumer(t, cfg))
	stopB := start(t, newTestConsumer(t, cfg))
	reject(t, addr, 0, n)
	waitFor(t, "some rows", func() bool { _, f, _ := counts(t, conn); return f >= n/3 })
	if err := stopA(); err != nil {
		t.Fatalf("member A returned %v", err)
	}
	reject(t, addr, n, n)
	waitFor(t, "all rows", func() bool { _, f, _ := counts(t, conn); return f >= 2*n })
	time.Sleep(2 * cfg.FlushInterval)
	if err := stopB(); err != nil {
		t.Fatalf("member B returned %v", err)
	}
	all, final, distinct := counts(t, conn)
	t.Logf("%d rows, %d under FINAL, %d distinct offsets", all, final, distinct)
	if final != 2*n || distinct != 2*n {
		t.Errorf("%d rows under FINAL, %d distinct offsets; want %d each", final, distinct, 2*n)
	}
}
