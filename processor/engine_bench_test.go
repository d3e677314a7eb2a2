package processor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/pipeline"
)

// BenchmarkProcessorEngine splits the embedded ClickHouse engine's CPU time
// during a BenchmarkProcessor run (the same topic, config and poll, one
// processor run per iteration, no kafka-go run) by what it was doing:
//
//   - engine-<table>-us/event: the inserts into events, stage_transitions,
//     identities and sessions, each measured around the Sink call from the
//     engine's own counters (system.events UserTimeMicroseconds +
//     SystemTimeMicroseconds, which the engine's every thread adds to),
//     minus the background merges running meanwhile;
//   - engine-merges-us/event: background merges (the CPU time of the
//     engine's MergeMutate threads, from /proc/self/task; it equals what
//     system.events counts for a merge run alone);
//   - engine-poll-us/event: the benchmark's SELECT count() every 250 ms;
//   - engine-other-us/event: the rest of the engine's CPU time during the
//     run (other background work, the HTTP handshakes);
//   - engine-us/event: all of it; processor-cpu-us/event: the whole
//     process (as in BenchmarkProcessor).
//
// The windows are serialized (an insert and a poll never overlap) so that
// each is its own query's; the counter reads (~1 ms of engine CPU each,
// calibrated on empty windows before the run) are subtracted from the
// windows and not counted anywhere, but they are in processor-cpu-us/event,
// so that figure runs slightly above BenchmarkProcessor's. <table>-rows/event
// are the rows the Sink wrote into each table per event read;
// merged-rows/event the rows background merges wrote (system.events
// MergedRows, all tables).
//
// For diagnostics, ENGINE_SQL holds statements (separated by ";") run in
// each iteration's database before the run, e.g. "SYSTEM STOP MERGES
// events" or "ALTER TABLE sessions MODIFY SETTING ...", and ENGINE_THREADS=1
// logs the CPU time of the process's threads by name per event (the
// engine's own threads are named ThreadPool, MergeMutate, ...; the Go
// threads, which also run the engine's code of each query called from Go,
// carry the binary's name).
func BenchmarkProcessorEngine(b *testing.B) {
	addr := prefilledTopic(b)

	var sum engineSplit
	var procCPU time.Duration
	var procTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		conn, database := migratedDB(b, "procengine")
		for _, q := range strings.Split(os.Getenv("ENGINE_SQL"), ";") {
			if q = strings.TrimSpace(q); q != "" {
				if err := conn.Exec(b.Context(), q); err != nil {
					b.Fatalf("%s: %v", q, err)
				}
			}
		}
		probe := newEngineProbe(b, conn)
		ps := &probedSink{Sink: clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: database}), probe: probe}
		runtime.GC()
		c0, e0 := cpuTime(), probe.read()
		t0 := threadCPUByName()
		b.StartTimer()
		start := time.Now()
		process(b, addr, fmt.Sprintf("bench-engine-%d", i), conn, database, benchN, ps, ps.poll)
		procTime += time.Since(start)
		b.StopTimer()
		e1 := probe.read()
		procCPU += cpuTime() - c0
		if os.Getenv("ENGINE_THREADS") != "" {
			for name, d := range threadCPUByName() {
				if d -= t0[name]; d > 0 {
					b.Logf("thread %s: %.2f us/event", name, float64(d.Microseconds())/benchN)
				}
			}
		}
		// Every counter read costs the engine about probe.cost, half of it
		// inside a window (subtracted there) and half outside.
		ps.split.total += e1.engine - e0.engine - time.Duration(2*ps.windows+1)*probe.cost
		ps.split.mergedRows += e1.mergedRows - e0.mergedRows
		ps.split.merges += e1.merges - e0.merges
		sum.add(&ps.split)
		dropDB(conn, database)
		conn.Close()
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N * benchN)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	var inserts time.Duration
	for k := range sinkKinds {
		b.ReportMetric(us(sum.insert[k]), "engine-"+sinkKinds[k]+"-us/event")
		b.ReportMetric(float64(sum.rows[k])/n, sinkKinds[k]+"-rows/event")
		inserts += sum.insert[k]
	}
	b.ReportMetric(us(sum.merges), "engine-merges-us/event")
	b.ReportMetric(float64(sum.mergedRows)/n, "merged-rows/event")
	b.ReportMetric(us(sum.poll), "engine-poll-us/event")
	b.ReportMetric(us(sum.total-inserts-sum.merges-sum.poll), "engine-other-us/event")
	b.ReportMetric(us(sum.total), "engine-us/event")
	b.ReportMetric(us(procCPU), "processor-cpu-us/event")
	b.ReportMetric(n/procTime.Seconds(), "processor-events/s")
}

// sinkKinds names the Sink's inserts, in the order the writer makes them.
var sinkKinds = [...]string{"events", "transitions", "identities", "sessions"}

const (
	kindEvents = iota
	kindTransitions
	kindIdentities
	kindSessions
)

// engineSplit is the engine's CPU time of one run, by what it did.
type engineSplit struct {
	insert [len(sinkKinds)]time.Duration
	rows   [len(sinkKinds)]int
	poll   time.Duration
	merges time.Duration
	total  time.Duration

	mergedRows uint64 // rows the background merges wrote (all tables)
}

func (s *engineSplit) add(o *engineSplit) {
	for k := range s.insert {
		s.insert[k] += o.insert[k]
		s.rows[k] += o.rows[k]
	}
	s.poll += o.poll
	s.merges += o.merges
	s.total += o.total
	s.mergedRows += o.mergedRows
}

// probedSink is a processor.Sink that measures the engine's CPU time of
// each insert of the clickhouse.Sink it wraps.
type probedSink struct {
	*clickhouse.Sink
	probe *engineProbe

	mu      sync.Mutex // one window at a time
	split   engineSplit
	windows int
}

// window runs f, one insert of kind (rows rows) or a poll (kind < 0), and
// adds the engine's CPU time during it, less the merges running meanwhile
// and the cost of the counter reads, to the split.
func (s *probedSink) window(kind, rows int, f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c0 := s.probe.read()
	err := f()
	c1 := s.probe.read()
	s.windows++
	d := c1.engine - c0.engine - (c1.merges - c0.merges) - s.probe.cost
	if kind < 0 {
		s.split.poll += d
		return err
	}
	s.split.insert[kind] += d
	if err == nil {
		s.split.rows[kind] += rows
	}
	return err
}

func (s *probedSink) poll(f func() error) error { return s.window(-1, 0, f) }

func (s *probedSink) WriteEvents(ctx context.Context, events []pipeline.Event, token string) error {
	return s.window(kindEvents, len(events), func() error { return s.Sink.WriteEvents(ctx, events, token) })
}

func (s *probedSink) WriteStageTransitions(ctx context.Context, ts []pipeline.StageTransition, token string) error {
	return s.window(kindTransitions, len(ts), func() error { return s.Sink.WriteStageTransitions(ctx, ts, token) })
}

func (s *probedSink) WriteIdentities(ctx context.Context, ids []pipeline.Identity, token string) error {
	return s.window(kindIdentities, len(ids), func() error { return s.Sink.WriteIdentities(ctx, ids, token) })
}

func (s *probedSink) WriteSessions(ctx context.Context, sessions []pipeline.Session, token string) error {
	return s.window(kindSessions, len(sessions), func() error { return s.Sink.WriteSessions(ctx, sessions, token) })
}

// engineProbe reads the embedded engine's CPU counters.
type engineProbe struct {
	b    *testing.B
	conn driver.Conn
	cost time.Duration // engine CPU time of an empty window (two reads)
}

// engineCounters are the engine's CPU time so far: all of it
// (system.events), and its background merges' (MergeMutate threads).
type engineCounters struct {
	engine, merges time.Duration
	mergedRows     uint64
}

func newEngineProbe(b *testing.B, conn driver.Conn) *engineProbe {
	p := &engineProbe{b: b, conn: conn}
	// The engine CPU time of an empty window: the median of 15.
	var ds []time.Duration
	for range 15 {
		c0 := p.read()
		c1 := p.read()
		ds = append(ds, c1.engine-c0.engine-(c1.merges-c0.merges))
	}
	slices.Sort(ds)
	p.cost = ds[len(ds)/2]
	return p
}

func (p *engineProbe) read() engineCounters {
	var us, merged uint64
	err := p.conn.QueryRow(context.WithoutCancel(p.b.Context()),
		"SELECT sumIf(value, event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')), sumIf(value, event = 'MergedRows') FROM system.events").Scan(&us, &merged)
	if err != nil {
		p.b.Fatalf("system.events: %v", err)
	}
	return engineCounters{engine: time.Duration(us) * time.Microsecond, merges: threadCPU("MergeMutate"), mergedRows: merged}
}

// threadCPU returns the CPU time (user + system) of the process's threads
// named name.
func threadCPU(name string) time.Duration { return threadCPUByName()[name] }

// threadCPUByName returns the CPU time (user + system) of the process's
// threads by name, from /proc/self/task (in clock ticks of 10 ms; threads
// that ended are not counted).
func threadCPUByName() map[string]time.Duration {
	out := map[string]time.Duration{}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", t.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:]) // from field 3 (state); utime is 14, stime 15
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		st, _ := strconv.ParseUint(f[12], 10, 64)
		out[s[open+1:end]] += time.Duration(u+st) * 10 * time.Millisecond
	}
	return out
}
