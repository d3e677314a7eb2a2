package bench

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/processor"
)

// Freshness polling: how often, how many ids a poll asks for at most, and
// how long after the load an event may take before it counts as unseen.
const (
	pollEvery   = 50 * time.Millisecond
	pollChunk   = 1000
	drainWithin = 30 * time.Second
)

// BenchmarkFreshness measures DESIGN.md section 7's freshness goal: p99 from
// the collector's 2xx to the event being queryable in events <= 2 s. It
// runs the whole pipeline in this process, as `touchstream dev` does: the
// collector (rate limit off) and its real publisher to an embedded Kafka (8
// partitions), a processor with its default configuration (BatchSize 5000,
// FlushInterval 1 s) writing through the real ClickHouse sink to the
// embedded ClickHouse. After a warm-up event has come through (the group
// join), each iteration sends, paced open-loop,
//
//   - light: 50 single-event /v1/track requests a second for
//     BENCH_FRESH_SECONDS (default 20), every event tracked;
//   - peak: /v1/batch requests of 100 events at half the collector's batched
//     peak (from BenchmarkCollector in the same run, else measured here for
//     BENCH_SECONDS against a collector of its own) for
//     BENCH_FRESH_PEAK_SECONDS (default 10), the first event of each
//     request tracked;
//
// and polls SELECT message_id FROM events WHERE message_id IN (...) every
// 50 ms for the tracked events answered and not yet seen. An event's
// freshness is the start of the first poll that saw it minus the time its
// 2xx answer was read (so up to 50 ms too high); one not seen 30 s after
// its phase ended counts as unseen, with its time to that deadline. It reports p50 and p99 of each
// phase, the peak phase's events/s, and the unseen events.
func BenchmarkFreshness(b *testing.B) {
	ctx := b.Context()
	light := envSeconds("BENCH_FRESH_SECONDS", 20*time.Second)
	peakFor := envSeconds("BENCH_FRESH_PEAK_SECONDS", 10*time.Second)
	peak := float64(collectorPeak.Load())
	if peak == 0 {
		peak = measurePeak(b)
	}

	cfg := collector.DefaultConfig()
	cfg.WriteKeys = []string{benchKey}
	cfg.RatePerSecond = 0
	stack := collectortest.New(b, kafkaParts, cfg)
	url := stack.Serve(b)
	conn, database := freshDatabase(b)
	pcfg := processor.DefaultConfig()
	pcfg.Brokers = []string{stack.Kafka}
	pcfg.GroupID = "bench-freshness"
	pcfg.Logger = slog.New(slog.DiscardHandler)
	proc, err := processor.New(pcfg, clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: database}), prometheus.NewRegistry())
	if err != nil {
		b.Fatalf("processor: %v", err)
	}
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- proc.Run(pctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("processor: %v", err)
		}
	}()

	client := newClient(64)
	r := rand.New(rand.NewPCG(3, 5))
	// Warm-up: one event through the whole pipeline (the processor joins
	// its group meanwhile).
	warm := segmentBodies(single, 1, r)
	if err := post(ctx, client, url+single.path, warm[0].body); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	if f, _ := track(ctx, b, conn, func(notify func(paced)) loadResult {
		notify(paced{done: time.Now(), req: warm[0]})
		return loadResult{}
	}); f.unseen > 0 {
		b.Fatalf("warm-up event not queryable within %s", drainWithin)
	}

	var lightF, peakF freshness
	var peakRes loadResult
	b.ResetTimer()
	for range b.N {
		reqs := segmentBodies(single, int(50*light.Seconds()), r)
		f, res := track(ctx, b, conn, func(notify func(paced)) loadResult {
			_, res := openLoop(ctx, client, url+single.path, reqs, 50, light, 16, notify)
			return res
		})
		checkErrors(b, "light load", res)
		lightF.add(f)
		rate := peak / 2 / batchSize // requests a second
		reqs = segmentBodies(batched, int(rate*peakFor.Seconds()), r)
		f, res = track(ctx, b, conn, func(notify func(paced)) loadResult {
			_, res := openLoop(ctx, client, url+batched.path, reqs, rate, peakFor, 64, func(p paced) {
				p.req.ids = p.req.ids[:1] // one tracked event per request
				notify(p)
			})
			return res
		})
		checkErrors(b, "load at half peak", res)
		peakF.add(f)
		peakRes.events, peakRes.elapsed = peakRes.events+res.events, peakRes.elapsed+res.elapsed
	}
	b.StopTimer()
	b.ReportMetric(ms(quantile(lightF.lat, 0.5)), "light-p50-ms")
	b.ReportMetric(ms(quantile(lightF.lat, 0.99)), "light-p99-ms")
	b.ReportMetric(ms(quantile(peakF.lat, 0.5)), "peak-p50-ms")
	b.ReportMetric(ms(quantile(peakF.lat, 0.99)), "peak-p99-ms")
	b.ReportMetric(peakRes.eventsPerSecond(), "peak-events/s")
	b.ReportMetric(float64(lightF.unseen+peakF.unseen), "unseen")
}

// freshness is what track measured: answer-to-queryable times and the
// events not seen in time (counted as drainWithin past their phase's end
// in lat).
type freshness struct {
	lat    []time.Duration
	unseen int
}

func (f *freshness) add(g freshness) { f.lat, f.unseen = append(f.lat, g.lat...), f.unseen+g.unseen }

// track runs load, which calls notify with each request answered 2xx, and
// polls events for their tracked ids (paced.req.ids) meanwhile and until
// every one is seen or drainWithin has passed after load returned. It
// returns what it measured and what load returned.
func track(ctx context.Context, b *testing.B, conn driver.Conn, load func(notify func(paced)) loadResult) (freshness, loadResult) {
	var mu sync.Mutex
	answered := map[string]time.Time{}
	notify := func(p paced) {
		mu.Lock()
		for _, id := range p.req.ids {
			answered[id] = p.done
		}
		mu.Unlock()
	}
	loadDone := make(chan struct{})
	var res loadResult
	go func() {
		defer close(loadDone)
		res = load(notify)
	}()
	var f freshness
	var deadline time.Time
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			b.Fatalf("freshness: %v", ctx.Err())
		case <-tick.C:
		}
		finished := false
		select {
		case <-loadDone:
			finished = true
			if deadline.IsZero() {
				deadline = time.Now().Add(drainWithin)
			}
		default:
		}
		mu.Lock()
		ids := make([]string, 0, min(len(answered), pollChunk))
		for id := range answered {
			if len(ids) == pollChunk {
				break
			}
			ids = append(ids, id)
		}
		mu.Unlock()
		if finished && len(ids) == 0 {
			return f, res
		}
		if finished && time.Now().After(deadline) {
			mu.Lock()
			for _, at := range answered {
				f.lat = append(f.lat, deadline.Sub(at))
				f.unseen++
			}
			mu.Unlock()
			return f, res
		}
		if len(ids) == 0 {
			continue
		}
		at := time.Now()
		seen, err := queryable(ctx, conn, ids)
		if err != nil {
			b.Fatalf("poll events: %v", err)
		}
		mu.Lock()
		for _, id := range seen {
			if t, ok := answered[id]; ok {
				f.lat = append(f.lat, at.Sub(t))
				delete(answered, id)
			}
		}
		mu.Unlock()
	}
}

// queryable returns those of ids that are in events.
func queryable(ctx context.Context, conn driver.Conn, ids []string) ([]string, error) {
	var q strings.Builder
	q.WriteString("SELECT message_id FROM events WHERE message_id IN (")
	for i, id := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(id) + "'")
	}
	q.WriteByte(')')
	rows, err := conn.Query(ctx, q.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// freshDatabase creates and migrates a database of its own on the embedded
// ClickHouse and returns a connection to it, closed (and the database
// dropped) when the benchmark ends.
func freshDatabase(b *testing.B) (driver.Conn, string) {
	ctx := context.WithoutCancel(b.Context())
	database := testenv.Database(b, "freshbench")
	dsn := testenv.ClickHouse(b) + "/" + database
	if err := clickhouse.Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		b.Fatalf("open clickhouse: %v", err)
	}
	b.Cleanup(func() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database)
		conn.Close()
	})
	return conn, database
}

// measurePeak returns the batched events/s of a collector of its own (not
// read by the processor), closed loop for BENCH_SECONDS.
func measurePeak(b *testing.B) float64 {
	clients := envInt("BENCH_CLIENTS", 16)
	url := startCollector(b).Serve(b)
	reqs := segmentBodies(batched, bodyVariety, rand.New(rand.NewPCG(1, batchSize)))
	c := newClient(clients)
	closedLoop(b.Context(), c, url+batched.path, reqs, clients, 500*time.Millisecond)
	res := closedLoop(b.Context(), c, url+batched.path, reqs, clients, envSeconds("BENCH_SECONDS", 3*time.Second))
	checkErrors(b, "peak", res)
	if res.events == 0 {
		b.Fatal("peak: no events accepted")
	}
	return res.eventsPerSecond()
}
