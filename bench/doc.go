// Package bench holds the end-to-end benchmarks of `make bench` that no
// single package owns (GitHub issue 8). Each figure is a ratio or a
// distribution measured in one run against a baseline run beside it, since
// bare times on a shared machine mean little (DESIGN.md section 7):
//
//   - BenchmarkCollector: events/s of the real collector (Segment HTTP API,
//     real Kafka publisher to an embedded Kafka, so a 2xx means Kafka acked)
//     as a share of a bare net/http handler that reads and discards the
//     same bodies, for /v1/batch (100 events a request) and /v1/track (one
//     event); then p50/p99 latency of the collector at half its measured
//     peak, paced open-loop.
//   - BenchmarkQuery: every report (funnel, abandonment, time-on-site,
//     retention, attribution, segments, stages, paths), run as package
//     report runs them, over synthetic events loaded into the
//     embedded ClickHouse with INSERT ... SELECT FROM numbers(N), as a
//     multiple of a plain GROUP BY visitor_id count over the same table, in
//     three states of the events table: the parts the load wrote (merges
//     stopped); after OPTIMIZE TABLE events FINAL, one merged part, where
//     two floors of the funnel are measured too (each visitor's step events
//     sorted by time, and ClickHouse's windowFunnel); and live, the merged
//     part plus one fresh processor batch (the funnel only).
//   - BenchmarkFreshness: collector -> Kafka -> processor -> ClickHouse in
//     one process; the time from the collector's 2xx to the event being
//     queryable in events, and to its session (events.session_id) being
//     queryable in sessions FINAL with the event in it (end_time >= its
//     event_time), at a light load and at half the collector's peak.
//
// The package has no code of its own beyond this comment: the benchmarks
// and their helpers live in its _test.go files and run only with -bench
// (scripts/bench.sh runs them; BENCHMARKS.md explains every figure). A
// plain `go test` runs only TestSyntheticLoad, a check at 20,000 events of
// the query benchmark's data (it needs the embedded ClickHouse). Sizes
// come from environment variables so that a quick run can be small:
// BENCH_SECONDS (each collector load phase, default 3), BENCH_CLIENTS (16),
// BENCH_EVENTS (10,000,000), BENCH_QUERY_REPS (3), BENCH_QUERY_SECONDS (60),
// BENCH_FRESH_SECONDS (20) and BENCH_FRESH_PEAK_SECONDS (10).
package bench
