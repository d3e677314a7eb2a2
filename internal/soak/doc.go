// Command soak runs Touchstream's services as separate processes (the
// embedded Kafka and ClickHouse, the collector, the processor: the binaries
// of bin/), measures the collector's peak rate for a short while, then sends
// at half that rate for -duration while it samples each process's memory
// (resident set from /proc, heap in use from /metrics) and goroutines
// (/metrics) into a CSV file. At the end it fits a line to each series of
// the collector and the processor over the second half of the run and fails
// when one grows by more than its bound over that half: max(-bound x its
// mean, a floor of 16 MiB heap, 32 MiB RSS, 20 goroutines). The processor's
// heap and RSS are judged per accepted event instead (at most 300 bytes an
// event): it keeps a summary of every event of the lateness allowance
// (24 h) by design, so its memory grows with traffic for a day. The Kafka
// and ClickHouse processes are sampled and reported but not judged: the
// embedded Kafka keeps every record in memory by design, and ClickHouse's
// caches fill as data grows. scripts/soak.sh (make soak) runs it.
package main
