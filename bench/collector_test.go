package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
)

// Load shapes of the collector benchmark.
const (
	batchSize   = 100 // events per /v1/batch request
	benchKey    = "bench"
	kafkaParts  = 8  // partitions of the embedded Kafka's topics
	bodyVariety = 64 // distinct pre-built bodies per shape
)

// collectorPeak is the collector's batched peak in events/s measured by
// BenchmarkCollector in this process, for BenchmarkFreshness (0: not run).
var collectorPeak atomic.Uint64

// shape is one way of sending events: a path and how many events a body
// carries.
type shape struct {
	name, path string
	events     int
}

var (
	batched = shape{"batched", "/v1/batch", batchSize}
	single  = shape{"single", "/v1/track", 1}
)

// BenchmarkCollector measures DESIGN.md section 7's collector goals. For
// each shape (batched: 100 Segment track events per /v1/batch request;
// single: one event per /v1/track request), each iteration runs the same
// closed-loop load generator (BENCH_CLIENTS concurrent keep-alive clients,
// default 16, on loopback, cycling through 64 pre-built bodies) for
// BENCH_SECONDS (default 3) against
//
//   - bare: a net/http handler that reads the body, discards it and
//     answers 200, and
//   - collector: the collector package's server (rate limit off) with its
//     real Kafka publisher to an embedded Kafka with 8 partitions per topic,
//     so that a 2xx means Kafka acknowledged the events (acks=all),
//
// in alternating order, both served by httptest servers in this process
// (the embedded Kafka runs here too: its CPU counts against the collector,
// as it does in `touchstream dev`). It reports bare-events/s,
// collector-events/s and ratio = collector/bare (goals: >= 0.5 batched,
// >= 0.4 single). Then it paces requests open-loop at half the collector's
// measured rate for BENCH_SECONDS and reports the p50 and p99 of the time
// from each request's due time to its answer (goal p99 <= 10 ms).
func BenchmarkCollector(b *testing.B) {
	for _, sh := range []shape{batched, single} {
		b.Run(sh.name, func(b *testing.B) { benchCollector(b, sh) })
	}
}

func benchCollector(b *testing.B, sh shape) {
	ctx := b.Context()
	d := envSeconds("BENCH_SECONDS", 3*time.Second)
	clients := envInt("BENCH_CLIENTS", 16)
	reqs := segmentBodies(sh, bodyVariety, rand.New(rand.NewPCG(1, uint64(sh.events))))

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(bare.Close)
	stack := startCollector(b)
	colURL := stack.Serve(b)
	bareClient, colClient := newClient(clients), newClient(4*clients)
	// Warm up both: connections, the publisher's writers, the broker.
	closedLoop(ctx, bareClient, bare.URL+sh.path, reqs, clients, 500*time.Millisecond)
	checkErrors(b, "warm-up", closedLoop(ctx, colClient, colURL+sh.path, reqs, clients, time.Second))

	var bareRes, colRes, latRes loadResult
	var pubCount, pubSecs float64
	var lats []time.Duration
	add := func(sum *loadResult, r loadResult) {
		sum.requests, sum.events, sum.errors = sum.requests+r.requests, sum.events+r.events, sum.errors+r.errors
		sum.elapsed, sum.cpu = sum.elapsed+r.elapsed, sum.cpu+r.cpu
	}
	b.ResetTimer()
	for i := range b.N {
		runBare := func() {
			r := closedLoop(ctx, bareClient, bare.URL+sh.path, reqs, clients, d)
			checkErrors(b, "bare", r)
			add(&bareRes, r)
		}
		runCol := func() {
			c0, s0 := publishStats(b, stack)
			r := closedLoop(ctx, colClient, colURL+sh.path, reqs, clients, d)
			c1, s1 := publishStats(b, stack)
			pubCount, pubSecs = pubCount+c1-c0, pubSecs+s1-s0
			checkErrors(b, "collector", r)
			add(&colRes, r)
		}
		if i%2 == 0 {
			runBare()
			runCol()
		} else {
			runCol()
			runBare()
		}
		// Half the collector's peak so far, in requests a second.
		rate := float64(colRes.requests) / colRes.elapsed.Seconds() / 2
		ps, r := openLoop(ctx, colClient, colURL+sh.path, reqs, rate, d, 4*clients, nil)
		checkErrors(b, "collector at half peak", r)
		add(&latRes, r)
		lats = append(lats, latencies(ps)...)
	}
	b.StopTimer()
	bareRate, colRate := bareRes.eventsPerSecond(), colRes.eventsPerSecond()
	if sh == batched {
		collectorPeak.Store(uint64(colRate))
	}
	b.ReportMetric(bareRate, "bare-events/s")
	b.ReportMetric(colRate, "collector-events/s")
	b.ReportMetric(colRate/bareRate, "ratio")
	b.ReportMetric(latRes.eventsPerSecond(), "half-peak-events/s")
	b.ReportMetric(ms(quantile(lats, 0.5)), "p50-ms")
	b.ReportMetric(ms(quantile(lats, 0.99)), "p99-ms")
	b.ReportMetric(float64(bareRes.errors+colRes.errors+latRes.errors), "errors")
	// Where a collector request's time goes: the mean wait for Kafka's
	// acknowledgement (Publish) at peak, against the mean request time.
	b.ReportMetric(1000*pubSecs/pubCount, "publish-ms")
	// What each path costs in CPU (this process: load generator, server,
	// embedded Kafka), whatever share of the machine it got: the ratio the
	// two would reach if both were CPU-bound on an otherwise idle machine.
	b.ReportMetric(bareRes.cpuPerEvent(), "bare-cpu-us/event")
	b.ReportMetric(colRes.cpuPerEvent(), "collector-cpu-us/event")
	b.ReportMetric(bareRes.cpuPerEvent()/colRes.cpuPerEvent(), "cpu-ratio")
	b.ReportMetric(1000*colRes.elapsed.Seconds()*float64(clients)/float64(colRes.requests), "request-ms")
}

// startCollector starts a collector (rate limit off, write key "bench")
// publishing to an embedded Kafka through the real publisher.
func startCollector(b *testing.B) *collectortest.Stack {
	cfg := collector.DefaultConfig()
	cfg.WriteKeys = []string{benchKey}
	cfg.RatePerSecond = 0
	return collectortest.New(b, kafkaParts, cfg)
}

// publishStats returns the collector's publish count and total publish
// seconds so far (touchstream_collector_publish_duration_seconds).
func publishStats(b *testing.B, s *collectortest.Stack) (count, secs float64) {
	mfs, err := s.Metrics.Gather()
	if err != nil {
		b.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "touchstream_collector_publish_duration_seconds" {
			for _, m := range mf.GetMetric() {
				count += float64(m.GetHistogram().GetSampleCount())
				secs += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return count, secs
}

// segmentBodies returns n request bodies of shape sh: Segment track events
// as analytics.js sends them (context with page, library and user agent,
// properties of a product), each with its own messageId and a visitor of
// 10,000; the write key is in the body.
func segmentBodies(sh shape, n int, r *rand.Rand) []request {
	out := make([]request, n)
	for i := range out {
		evs := make([]map[string]any, sh.events)
		ids := make([]string, sh.events)
		for j := range evs {
			ids[j] = fmt.Sprintf("bench-%d-%d-%016x", i, j, r.Uint64())
			evs[j] = segmentEvent(ids[j], r)
		}
		var v any
		if sh.events == 1 {
			evs[0]["writeKey"] = benchKey
			v = evs[0]
		} else {
			v = map[string]any{"writeKey": benchKey, "sentAt": time.Now().UTC().Format(time.RFC3339Nano), "batch": evs}
		}
		body, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[i] = request{body: body, events: sh.events, ids: ids}
	}
	return out
}

// trackNames are the track events of the synthetic shop.
var trackNames = []string{"Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started", "Order Completed"}

// segmentEvent is one Segment track event with messageId id, timestamped
// now.
func segmentEvent(id string, r *rand.Rand) map[string]any {
	visitor := fmt.Sprintf("anon-%08x", r.IntN(10_000))
	sku := fmt.Sprintf("sku-%d", r.IntN(500))
	return map[string]any{
		"type":        "track",
		"event":       trackNames[r.IntN(len(trackNames))],
		"messageId":   id,
		"anonymousId": visitor,
		"timestamp":   time.Now().UTC().Format(time.RFC3339Nano),
		"properties":  map[string]any{"product_id": sku, "price": 10 + r.IntN(90), "currency": "USD", "cart_id": "cart-" + visitor},
		"context": map[string]any{
			"library":   map[string]any{"name": "analytics.js", "version": "5.2.0"},
			"page":      map[string]any{"path": "/products/" + sku, "url": "https://shop.example.com/products/" + sku, "referrer": "https://www.google.com/", "title": "Shop"},
			"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
			"locale":    "en-US",
			"campaign":  map[string]any{"source": "google", "medium": "cpc", "name": "spring_sale"},
		},
	}
}
