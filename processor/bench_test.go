package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
)

// Sizes of BenchmarkProcessor's topic: benchN events from benchVisitors
// visitors, one session of about 10 events each, on benchPartitions
// partitions.
const (
	benchN          = 200_000
	benchVisitors   = 20_000
	benchPartitions = 8
)

// BenchmarkProcessor measures DESIGN.md section 7's processor goal: events/s
// sessionized, staged and written to ClickHouse >= 50% of the rate at which
// kafka-go alone reads the same topic. It pre-fills a topic on an embedded
// Kafka with benchN JSON-encoded events (as the collector publishes them),
// then, in each iteration, times three runs over the whole topic, each in a
// consumer group of its own starting at the first offset:
//
//   - kafka-go: one kafka-go group Reader (the same fetch settings as the
//     processor's partition readers) fetching all benchN messages and
//     discarding them; no commits.
//   - processor: processor.Run with the real clickhouse.Sink on the embedded
//     ClickHouse (a freshly migrated database per iteration), BatchSize
//     (per process) and FlushInterval 1s the defaults,
//     until SELECT count() FROM events
//     reaches benchN (polled every 250 ms, without FINAL: the input has no
//     duplicates, and a FINAL scan every poll competed with the inserts;
//     nothing subtracted, so the group join, the last flush and the poll
//     interval are all in its time).
//   - floor: the least any processor built on these libraries must do:
//     the same kafka-go Reader fetching all benchN messages, each decoded
//     by the processor's decoder (processor.DecodeEvent) and nothing else
//     done with it, in batches of floorBatch events handed over a channel
//     to a goroutine that inserts them into the events table of a second
//     freshly migrated database with clickhouse.Sink (reading and
//     decoding overlap the insert in flight), until the last insert
//     returned. No sessionizing, stages, identities, sessions or polling.
//
// All three times include joining the group. The order rotates per
// iteration. It reports kafkago-events/s and processor-events/s over all
// iterations, ratio = processor/kafka-go (goal >= 0.5), floor-events/s and
// floor-ratio = floor/kafka-go (how far the processor's ratio could go at
// all with these libraries on this machine) and floor-cpu-us/event, and the
// bytes the process allocated per event during the kafka-go and processor
// runs (runtime.MemStats.TotalAlloc; the embedded Kafka and ClickHouse
// servers run in this process, so their Go allocations are included in
// both).
func BenchmarkProcessor(b *testing.B) {
	addr := prefilledTopic(b)

	var kafkaTime, procTime, floorTime time.Duration
	var kafkaAlloc, procAlloc uint64
	var kafkaCPU, procCPU, floorCPU time.Duration
	var flushCount, writeCount uint64
	var flushTime, flushErrors float64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		conn, database := migratedDB(b, "procbench")
		_, floorDB := migratedDB(b, "procfloor")
		runKafka := func() {
			runtime.GC()
			a0, c0 := totalAlloc(), cpuTime()
			b.StartTimer()
			start := time.Now()
			readAll(b, addr, fmt.Sprintf("bench-kafkago-%d", i), benchN)
			kafkaTime += time.Since(start)
			b.StopTimer()
			kafkaCPU += cpuTime() - c0
			kafkaAlloc += totalAlloc() - a0
		}
		runProc := func() {
			runtime.GC()
			a0, c0 := totalAlloc(), cpuTime()
			b.StartTimer()
			start := time.Now()
			f := process(b, addr, fmt.Sprintf("bench-processor-%d", i), conn, database, benchN, nil, nil)
			d := time.Since(start)
			procTime += d
			flushCount, flushTime, flushErrors = flushCount+f.count, flushTime+f.seconds, flushErrors+f.errors
			writeCount += f.writes
			b.StopTimer()
			procCPU += cpuTime() - c0
			procAlloc += totalAlloc() - a0
		}
		runFloor := func() {
			runtime.GC()
			c0 := cpuTime()
			b.StartTimer()
			start := time.Now()
			floor(b, addr, fmt.Sprintf("bench-floor-%d", i), conn, floorDB, benchN)
			floorTime += time.Since(start)
			b.StopTimer()
			floorCPU += cpuTime() - c0
		}
		runs := []func(){runKafka, runProc, runFloor}
		for k := range runs {
			runs[(i+k)%len(runs)]()
		}
		dropDB(conn, floorDB)
		dropDB(conn, database)
		conn.Close()
		b.StartTimer()
	}
	b.StopTimer()
	total := float64(b.N * benchN)
	kafkaRate, procRate := total/kafkaTime.Seconds(), total/procTime.Seconds()
	b.ReportMetric(kafkaRate, "kafkago-events/s")
	b.ReportMetric(procRate, "processor-events/s")
	b.ReportMetric(procRate/kafkaRate, "ratio")
	// The floor: what the required libraries can do at all (see floor).
	floorRate := total / floorTime.Seconds()
	b.ReportMetric(floorRate, "floor-events/s")
	b.ReportMetric(floorRate/kafkaRate, "floor-ratio")
	b.ReportMetric(float64(floorCPU.Microseconds())/total, "floor-cpu-us/event")
	b.ReportMetric(float64(kafkaAlloc)/total, "kafkago-alloc-B/event")
	b.ReportMetric(float64(procAlloc)/total, "processor-alloc-B/event")
	// CPU time of the whole process (user + system, all threads: the
	// embedded Kafka and ClickHouse included) per event during each run.
	// Less sensitive than the rates to other load on a shared machine.
	b.ReportMetric(float64(kafkaCPU.Microseconds())/total, "kafkago-cpu-us/event")
	b.ReportMetric(float64(procCPU.Microseconds())/total, "processor-cpu-us/event")
	// Where the processor's time goes: the time its partition goroutines
	// spent in flushes (summed over the 8, so it may exceed the wall time),
	// per second of its run; and the failed write attempts.
	b.ReportMetric(flushTime/procTime.Seconds(), "flush-s/s")
	b.ReportMetric(float64(flushCount)/float64(b.N), "flushes/op")
	// The writes of the merged batches (all partitions flushing at the
	// same time go out together).
	b.ReportMetric(float64(writeCount)/float64(b.N), "writes/op")
	b.ReportMetric(flushErrors, "flush-errors")
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// migratedDB creates and migrates a fresh database on the process's
// embedded ClickHouse and returns a connection to it (the caller closes it)
// and its name.
func migratedDB(b *testing.B, prefix string) (driver.Conn, string) {
	database := testenv.Database(b, prefix)
	dsn := testenv.ClickHouse(b) + "/" + database
	if err := clickhouse.Migrate(b.Context(), dsn, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	conn, err := clickhouse.Open(b.Context(), dsn)
	if err != nil {
		b.Fatalf("open clickhouse: %v", err)
	}
	return conn, database
}

// dropDB drops database over conn. SYNC: the engine deletes the data now,
// not 8 minutes after the drop (never, for a process that ends first):
// without it each iteration left ~200 MB in the engine's directory.
func dropDB(conn driver.Conn, database string) {
	conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database+" SYNC")
}

// prefilledTopic starts an embedded Kafka of benchPartitions partitions
// holding benchN events of benchVisitors visitors on the events topic, JSON
// as the collector publishes them, and returns its address.
func prefilledTopic(b *testing.B) string {
	addr := testenv.Kafka(b, benchPartitions)
	events := benchEvents(benchN, benchVisitors)
	pub := kafka.NewPublisher([]string{addr}, nil)
	for chunk := range slices.Chunk(events, 5000) {
		if err := pub.Publish(b.Context(), chunk); err != nil {
			b.Fatalf("pre-fill: %v", err)
		}
	}
	if err := pub.Close(); err != nil {
		b.Fatalf("close publisher: %v", err)
	}
	return addr
}

// benchReader is a kafka-go group Reader of group on the events topic from
// the first offset, with the fetch settings of the processor's partition
// readers.
func benchReader(addr, group string) *kafkago.Reader {
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:     []string{addr},
		GroupID:     group,
		Topic:       pipeline.TopicEvents,
		StartOffset: kafkago.FirstOffset,
		MinBytes:    1,
		MaxBytes:    8 << 20,
		MaxWait:     200 * time.Millisecond,
	})
}

// readAll fetches n messages of the events topic with a kafka-go group
// Reader of group and discards them.
func readAll(b *testing.B, addr, group string, n int) {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	r := benchReader(addr, group)
	defer r.Close()
	for k := range n {
		if _, err := r.FetchMessage(ctx); err != nil {
			b.Fatalf("kafka-go: fetch message %d of %d: %v", k, n, err)
		}
	}
}

// floorBatch is the floor run's insert size: the processor's default
// BatchSize.
const floorBatch = 40_000

// floor reads n messages of the events topic with a kafka-go group Reader
// of group (the settings of readAll), decodes each into a pipeline.Event
// with the processor's decoder, and hands them in batches of floorBatch
// over a channel to a goroutine that writes each with clickhouse.Sink's
// WriteEvents into database's events table; it returns when the last batch
// is written.
func floor(b *testing.B, addr, group string, conn driver.Conn, database string, n int) {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	sink := clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: database})
	batches := make(chan []pipeline.Event, 1)
	inserted := make(chan error, 1)
	go func() {
		var err error
		k := 0
		for batch := range batches {
			if err == nil {
				err = sink.WriteEvents(ctx, batch, fmt.Sprintf("%s-%d", group, k))
			}
			k++
		}
		inserted <- err
	}()
	r := benchReader(addr, group)
	batch := make([]pipeline.Event, 0, floorBatch)
	var err error
	for k := 0; k < n && err == nil; k++ {
		var m kafkago.Message
		if m, err = r.FetchMessage(ctx); err != nil {
			err = fmt.Errorf("fetch message %d of %d: %w", k, n, err)
			break
		}
		batch = append(batch, pipeline.Event{})
		if err = processor.DecodeEvent(m.Value, &batch[len(batch)-1]); err != nil {
			err = fmt.Errorf("decode message %d: %w", k, err)
			break
		}
		if len(batch) == floorBatch || k == n-1 {
			batches <- batch
			batch = make([]pipeline.Event, 0, floorBatch)
		}
	}
	r.Close()
	close(batches)
	if ierr := <-inserted; err == nil && ierr != nil {
		err = fmt.Errorf("insert: %w", ierr)
	}
	if err != nil {
		b.Fatalf("floor: %v", err)
	}
}

// process runs a processor in group writing to database until the events
// table holds n rows, then stops it, and returns its flush
// figures. It writes through sink, nil for a clickhouse.Sink on conn, and
// runs each poll of the row count through poll, nil to run it directly.
func process(b *testing.B, addr, group string, conn driver.Conn, database string, n int, sink processor.Sink, poll func(func() error) error) flushes {
	cfg := processor.DefaultConfig()
	cfg.Brokers = []string{addr}
	cfg.GroupID = group
	cfg.FlushInterval = time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	if sink == nil {
		sink = clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: database})
	}

	if poll == nil {
		poll = func(f func() error) error { return f() }
	}
	p, err := processor.New(cfg, sink, reg)
	if err != nil {
		b.Fatalf("processor: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	query := fmt.Sprintf("SELECT count() FROM `%s`.events", database)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var got uint64
	for got < uint64(n) {
		select {
		case err := <-done:
			b.Fatalf("processor stopped early with %d of %d rows: %v", got, n, err)
		case <-ctx.Done():
			b.Fatalf("processor: %d of %d rows after 2 minutes", got, n)
		case <-tick.C:
		}
		if err := poll(func() error { return conn.QueryRow(ctx, query).Scan(&got) }); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			b.Fatalf("count events: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatalf("processor: %v", err)
	}
	return flushStats(b, reg)
}

// flushStats returns the processor's flush count, total flush time and
// failed write attempts from its metrics.
func flushStats(b *testing.B, reg *prometheus.Registry) (s flushes) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "touchstream_processor_flush_duration_seconds":
				s.count += m.GetHistogram().GetSampleCount()
				s.seconds += m.GetHistogram().GetSampleSum()
			case "touchstream_processor_write_duration_seconds":
				s.writes += m.GetHistogram().GetSampleCount()
			case "touchstream_processor_flush_errors_total":
				s.errors += m.GetCounter().GetValue()
			}
		}
	}
	return s
}

type flushes struct {
	count, writes   uint64
	seconds, errors float64
}

// benchEvents returns n events of visitors visitors in event-time order,
// shaped like the collector's output for a web shop: each visitor makes one
// visit of about n/visitors events 20-40 s apart, starting at a random
// point within an hour; visits start with a page view, then alternate page
// views and track events (product views, cart adds, some orders); a quarter
// of the visitors are identified.
func benchEvents(n, visitors int) []pipeline.Event {
	r := rand.New(rand.NewPCG(7, 11))
	t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	channels := []struct{ source, medium, campaign, referrer string }{
		{"", "", "", ""},
		{"google", "cpc", "spring_sale", "https://www.google.com/"},
		{"newsletter", "email", "weekly_42", ""},
		{"facebook", "social", "retarget", "https://l.facebook.com/"},
		{"", "", "", "https://www.bing.com/"},
	}
	devices := []struct{ device, browser, os string }{
		{"desktop", "Chrome", "Windows"}, {"mobile", "Safari", "iOS"},
		{"mobile", "Chrome", "Android"}, {"desktop", "Firefox", "Mac OS"},
	}
	paths := []string{"/", "/products", "/products/shoes", "/products/hats", "/cart", "/checkout", "/blog/how-to-choose"}
	tracks := []string{"Product Viewed", "Product Added", "Cart Viewed", "Checkout Started"}
	events := make([]pipeline.Event, 0, n)
	per := n / visitors
	for v := range visitors {
		k := per
		if v < n%visitors {
			k++
		}
		visitor := fmt.Sprintf("anon-%08x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
		user := ""
		if v%4 == 0 {
			user = fmt.Sprintf("user-%d", v)
		}
		ch, dev := channels[r.IntN(len(channels))], devices[r.IntN(len(devices))]
		at := t0.Add(time.Duration(r.Int64N(int64(time.Hour))))
		cart := fmt.Sprintf("cart-%d", v)
		for j := range k {
			e := pipeline.Event{
				MessageID:   fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff),
				EventTime:   at,
				ReceivedAt:  at.Add(time.Duration(50+r.IntN(200)) * time.Millisecond),
				Touchpoint:  pipeline.TouchpointWeb,
				VisitorID:   visitor,
				UserID:      user,
				UTMSource:   ch.source,
				UTMMedium:   ch.medium,
				UTMCampaign: ch.campaign,
				Referrer:    ch.referrer,
				LibraryName: "analytics.js",
				DeviceType:  dev.device,
				Browser:     dev.browser,
				OS:          dev.os,
				WriteKey:    "wk_bench_web",
			}
			path := paths[r.IntN(len(paths))]
			e.PageURL, e.PagePath = "https://shop.example.com"+path, path
			switch {
			case j%2 == 0:
				e.Type = pipeline.TypePage
				e.EngagementMS = int64(2000 + r.IntN(30000))
				e.Properties = json.RawMessage(fmt.Sprintf(`{"path":%q,"title":"Shop","url":%q}`, path, e.PageURL))
			case j == k-1 && v%10 == 0:
				e.Type, e.EventName = pipeline.TypeTrack, pipeline.EventOrderCompleted
				e.Revenue, e.Currency, e.OrderID, e.CartID = float64(20+r.IntN(200)), "USD", fmt.Sprintf("order-%d", v), cart
				e.Properties = json.RawMessage(fmt.Sprintf(`{"order_id":%q,"revenue":%g,"currency":"USD"}`, e.OrderID, e.Revenue))
			default:
				e.Type, e.EventName = pipeline.TypeTrack, tracks[r.IntN(len(tracks))]
				e.CartID = cart
				e.Properties = json.RawMessage(fmt.Sprintf(`{"product_id":"sku-%d","price":%d}`, r.IntN(500), 10+r.IntN(90)))
			}
			events = append(events, e)
			at = at.Add(time.Duration(20+r.IntN(21)) * time.Second)
		}
	}
	slices.SortStableFunc(events, func(a, b pipeline.Event) int { return a.EventTime.Compare(b.EventTime) })
	return events
}
