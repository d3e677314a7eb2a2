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

// BenchmarkFreshness measures DESIGN.md section 7's freshness goals: p99
// from the collector's 2xx to the event being queryable in events <= 2 s,
// and open sessions visible <= 5 s after their latest event. It runs the
// whole pipeline in this process, as `touchstream dev` does: the collector
// (rate limit off) and its real publisher to an embedded Kafka (8
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
// and every 50 ms polls SELECT message_id FROM events WHERE message_id IN
// (...) for the tracked events answered and not yet seen; on the same tick
// it starts a poll of sessions (sessionQueryable; one at a time, beside the
// events polls so as not to space them out) for the tracked events seen in
// events whose session is not yet seen: the session the processor assigned
// the event (events.session_id), live in sessions FINAL (is_deleted = 0)
// with end_time >= the event's event_time, i.e. the session row includes
// the event. An event's freshness is the start of the first poll that saw
// it minus the time its 2xx answer was read (so up to 50 ms too high), its
// session freshness likewise with the first sessions poll that saw its
// session (so too high by up to the time between two sessions polls: 50 ms,
// or a poll's duration when longer; on the 2-core machine they took about
// 20 ms at light load, 100-200 ms at half peak); one not seen 30 s after
// its phase ended counts as unseen, with its time to that deadline (an
// event never seen in events is unseen in both). It reports p50 and p99 of
// each phase for events (light-*, peak-*) and sessions (light-session-*,
// peak-session-*), the peak phase's events/s, and the unseen events
// (unseen) and sessions (session-unseen).
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
	if f, s, _ := track(ctx, b, conn, func(notify func(paced)) loadResult {
		notify(paced{done: time.Now(), req: warm[0]})
		return loadResult{}
	}); f.unseen > 0 {
		b.Fatalf("warm-up event not queryable within %s", drainWithin)
	} else if s.unseen > 0 {
		b.Logf("warm-up event's session not queryable within %s", drainWithin)
	}

	var lightF, peakF, lightS, peakS freshness
	var peakRes loadResult
	b.ResetTimer()
	for range b.N {
		reqs := segmentBodies(single, int(50*light.Seconds()), r)
		f, s, res := track(ctx, b, conn, func(notify func(paced)) loadResult {
			_, res := openLoop(ctx, client, url+single.path, reqs, 50, light, 16, notify)
			return res
		})
		checkErrors(b, "light load", res)
		lightF.add(f)
		lightS.add(s)
		rate := peak / 2 / batchSize // requests a second
		reqs = segmentBodies(batched, int(rate*peakFor.Seconds()), r)
		f, s, res = track(ctx, b, conn, func(notify func(paced)) loadResult {
			_, res := openLoop(ctx, client, url+batched.path, reqs, rate, peakFor, 64, func(p paced) {
				p.req.ids = p.req.ids[:1] // one tracked event per request
				notify(p)
			})
			return res
		})
		checkErrors(b, "load at half peak", res)
		peakF.add(f)
		peakS.add(s)
		peakRes.events, peakRes.elapsed = peakRes.events+res.events, peakRes.elapsed+res.elapsed
	}
	b.StopTimer()
	b.ReportMetric(ms(quantile(lightF.lat, 0.5)), "light-p50-ms")
	b.ReportMetric(ms(quantile(lightF.lat, 0.99)), "light-p99-ms")
	b.ReportMetric(ms(quantile(peakF.lat, 0.5)), "peak-p50-ms")
	b.ReportMetric(ms(quantile(peakF.lat, 0.99)), "peak-p99-ms")
	b.ReportMetric(peakRes.eventsPerSecond(), "peak-events/s")
	b.ReportMetric(float64(lightF.unseen+peakF.unseen), "unseen")
	b.ReportMetric(ms(quantile(lightS.lat, 0.5)), "light-session-p50-ms")
	b.ReportMetric(ms(quantile(lightS.lat, 0.99)), "light-session-p99-ms")
	b.ReportMetric(ms(quantile(peakS.lat, 0.5)), "peak-session-p50-ms")
	b.ReportMetric(ms(quantile(peakS.lat, 0.99)), "peak-session-p99-ms")
	b.ReportMetric(float64(lightS.unseen+peakS.unseen), "session-unseen")
}

// freshness is what track measured of one kind (events or sessions):
// answer-to-queryable times and the events not seen in time (counted as
// drainWithin past their phase's end in lat).
type freshness struct {
	lat    []time.Duration
	unseen int
}

func (f *freshness) add(g freshness) { f.lat, f.unseen = append(f.lat, g.lat...), f.unseen+g.unseen }

// track runs load, which calls notify with each request answered 2xx, and
// meanwhile, until every tracked id (paced.req.ids) is seen in events and
// in its session or drainWithin has passed after load returned, polls
// every pollEvery events for the ids not yet seen there and starts a poll
// of sessions for the ids seen in events whose session is not yet seen.
// The sessions poll runs beside the loop, one at a time, so that its
// longer query does not space the events polls out. It returns what it
// measured of events and of sessions, and what load returned.
func track(ctx context.Context, b *testing.B, conn driver.Conn, load func(notify func(paced)) loadResult) (events, sessions freshness, res loadResult) {
	var mu sync.Mutex
	answered := map[string]time.Time{} // answered, not yet seen in events
	notify := func(p paced) {
		mu.Lock()
		for _, id := range p.req.ids {
			answered[id] = p.done
		}
		mu.Unlock()
	}
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		res = load(notify)
	}()
	// Seen in events, their session not yet; this goroutine's only.
	inEvents := map[string]time.Time{}
	polled := make(chan sessionPoll, 1)
	polling := false // a sessions poll is running, to answer on polled
	took := func(p sessionPoll) {
		polling = false
		if p.err != nil {
			b.Fatalf("poll sessions: %v", p.err)
		}
		for _, id := range p.seen {
			if t, ok := inEvents[id]; ok {
				sessions.lat = append(sessions.lat, p.at.Sub(t))
				delete(inEvents, id)
			}
		}
	}
	var deadline time.Time
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if polling {
				<-polled
			}
			b.Fatalf("freshness: %v", ctx.Err())
		case <-tick.C:
		}
		select {
		case p := <-polled:
			took(p)
		default:
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
		ids := someOf(answered)
		mu.Unlock()
		if finished && len(ids) == 0 && len(inEvents) == 0 {
			return events, sessions, res
		}
		if finished && time.Now().After(deadline) {
			if polling {
				took(<-polled)
			}
			mu.Lock()
			for _, at := range answered {
				events.lat = append(events.lat, deadline.Sub(at))
				events.unseen++
				sessions.lat = append(sessions.lat, deadline.Sub(at))
				sessions.unseen++
			}
			mu.Unlock()
			for _, at := range inEvents {
				sessions.lat = append(sessions.lat, deadline.Sub(at))
				sessions.unseen++
			}
			return events, sessions, res
		}
		if len(ids) > 0 {
			at := time.Now()
			seen, err := queryable(ctx, conn, ids)
			if err != nil {
				b.Fatalf("poll events: %v", err)
			}
			mu.Lock()
			for _, id := range seen {
				if t, ok := answered[id]; ok {
					events.lat = append(events.lat, at.Sub(t))
					delete(answered, id)
					inEvents[id] = t
				}
			}
			mu.Unlock()
		}
		if !polling && len(inEvents) > 0 {
			polling = true
			go func(ids []string) {
				at := time.Now()
				seen, err := sessionQueryable(ctx, conn, ids)
				polled <- sessionPoll{at: at, seen: seen, err: err}
			}(someOf(inEvents))
		}
	}
}

// sessionPoll is the answer of one sessions poll begun at at.
type sessionPoll struct {
	at   time.Time
	seen []string
	err  error
}

// someOf returns up to pollChunk of the keys of m.
func someOf(m map[string]time.Time) []string {
	ids := make([]string, 0, min(len(m), pollChunk))
	for id := range m {
		if len(ids) == pollChunk {
			break
		}
		ids = append(ids, id)
	}
	return ids
}

// queryable returns those of ids that are in events.
func queryable(ctx context.Context, conn driver.Conn, ids []string) ([]string, error) {
	return messageIDs(ctx, conn, "SELECT message_id FROM events WHERE message_id IN "+idList(ids))
}

// sessionQueryable returns those of ids (in events) whose session is
// queryable and includes them: the session events.session_id names, live
// in sessions FINAL, with end_time >= the event's event_time. sessions is
// ORDER BY (visitor_id, session_id), so the subquery reads only the
// granules of the events' visitors, not all of sessions FINAL.
func sessionQueryable(ctx context.Context, conn driver.Conn, ids []string) ([]string, error) {
	list := idList(ids)
	return messageIDs(ctx, conn, `SELECT e.message_id
FROM events AS e
INNER JOIN
(
    SELECT visitor_id, session_id, end_time
    FROM sessions FINAL
    WHERE visitor_id IN (SELECT visitor_id FROM events WHERE message_id IN `+list+`)
      AND is_deleted = 0
) AS s ON e.visitor_id = s.visitor_id AND e.session_id = s.session_id
WHERE e.message_id IN `+list+`
  AND s.end_time >= e.event_time`)
}

// idList is ids as a ClickHouse tuple of string literals: ('a','b').
func idList(ids []string) string {
	var q strings.Builder
	q.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(id) + "'")
	}
	q.WriteByte(')')
	return q.String()
}

// messageIDs runs query, whose rows are one String each, and returns them.
func messageIDs(ctx context.Context, conn driver.Conn, query string) ([]string, error) {
	rows, err := conn.Query(ctx, query)
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
