package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// The benchmarks measure the HTTP front against the engine reached directly
// through the binding, interleaved in every iteration so that both sides see
// the same machine load; the ratio is the figure to read (DESIGN.md: ratios,
// never bare times, on shared machines).

const benchRows = 200_000

func benchSetup(b *testing.B, table string) (base string, direct *chdb.Conn) {
	b.Helper()
	base = startServer(b, nil)
	direct, err := chdb.Open(testPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { direct.Close() })
	ddl := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id UInt64, name String, at DateTime64(3), value Float64) ENGINE = MergeTree ORDER BY id", table)
	if err := direct.Exec(ddl); err != nil {
		b.Fatal(err)
	}
	return base, direct
}

// BenchmarkInsert: rows/s of a clickhouse-go/v2 HTTP batch insert (client
// encoding included) against a streaming insert of the same rows, already in
// Native form, through the binding. Goal: ratio >= 0.7. Also reported:
// send-ratio (the driver's Send alone, without Append) and raw-http-ratio
// (the same Native bytes POSTed with net/http, no driver: the server's own
// overhead; it sends no compression in either sub-benchmark).
func BenchmarkInsert(b *testing.B) {
	base, direct := benchSetup(b, "bench_insert")
	u, _ := url.Parse(base)
	for _, method := range []chgo.CompressionMethod{chgo.CompressionNone, chgo.CompressionLZ4} {
		b.Run(method.String(), func(b *testing.B) {
			client, err := chgo.Open(&chgo.Options{Addr: []string{u.Host}, Protocol: chgo.HTTP, Compression: &chgo.Compression{Method: method}})
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			ids := make([]uint64, benchRows)
			names := make([]string, benchRows)
			ats := make([]time.Time, benchRows)
			values := make([]float64, benchRows)
			t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			for i := range ids {
				ids[i], names[i], ats[i], values[i] = uint64(i), fmt.Sprintf("visitor-%d", i), t0.Add(time.Duration(i)*time.Millisecond), float64(i)/3
			}
			native, err := direct.Query(fmt.Sprintf("SELECT number AS id, concat('visitor-', toString(number)) AS name, toDateTime64('2026-11-01 00:00:00', 3) + toIntervalMillisecond(number) AS at, number / 3 AS value FROM numbers(%d)", benchRows), "Native")
			if err != nil {
				b.Fatal(err)
			}
			data := append([]byte(nil), native.Bytes()...)
			native.Free()
			ctx := context.Background()
			var httpTime, directTime, encodeTime, sendTime, rawTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				batch, err := client.PrepareBatch(ctx, "INSERT INTO bench_insert")
				if err != nil {
					b.Fatal(err)
				}
				// Column-wise append, as a batching writer does (row-wise
				// Append costs the client about twice as much again).
				for c, col := range []any{ids, names, ats, values} {
					if err := batch.Column(c).Append(col); err != nil {
						b.Fatal(err)
					}
				}
				encodeTime += time.Since(start)
				sendStart := time.Now()
				if err := batch.Send(); err != nil {
					b.Fatal(err)
				}
				sendTime += time.Since(sendStart)
				httpTime += time.Since(start)

				start = time.Now()
				res, err := http.Post(base+"/?query="+url.QueryEscape("INSERT INTO bench_insert FORMAT Native"), "application/octet-stream", bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("raw insert: %d", res.StatusCode)
				}
				rawTime += time.Since(start)

				start = time.Now()
				in, err := direct.StreamInsert("INSERT INTO bench_insert", "Native")
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < len(data); off += 1 << 20 {
					if err := in.Append(data[off:min(off+1<<20, len(data))]); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := in.Done(); err != nil {
					b.Fatal(err)
				}
				directTime += time.Since(start)
			}
			rows := float64(b.N * benchRows)
			b.ReportMetric(rows/httpTime.Seconds(), "http-rows/s")
			b.ReportMetric(rows/directTime.Seconds(), "direct-rows/s")
			b.ReportMetric(directTime.Seconds()/httpTime.Seconds(), "ratio")
			b.ReportMetric(directTime.Seconds()/sendTime.Seconds(), "send-ratio")
			b.ReportMetric(directTime.Seconds()/rawTime.Seconds(), "raw-http-ratio")
			b.ReportMetric(encodeTime.Seconds()/httpTime.Seconds(), "client-encode-share")
		})
	}
}

// BenchmarkSelect: bytes/s of a 1M-row SELECT read over HTTP (FORMAT Native,
// body read and discarded) against the same query streamed through the
// binding; and rows/s through clickhouse-go/v2 with Scan, for reference.
func BenchmarkSelect(b *testing.B) {
	base, direct := benchSetup(b, "bench_select_unused")
	const query = "SELECT number, toString(number), number * 2.5 FROM numbers(1000000)"
	u, _ := url.Parse(base)
	client, err := chgo.Open(&chgo.Options{Addr: []string{u.Host}, Protocol: chgo.HTTP})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	var httpTime, directTime, driverTime time.Duration
	var httpBytes, directBytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := http.Post(base+"/?default_format=Native", "text/plain", strings.NewReader(query))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("http select: %d %v", res.StatusCode, err)
		}
		httpBytes += n
		httpTime += time.Since(start)

		start = time.Now()
		s, err := direct.StreamQuery(query, "Native")
		if err != nil {
			b.Fatal(err)
		}
		for {
			chunk, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			directBytes += int64(len(chunk))
		}
		s.Close()
		directTime += time.Since(start)

		start = time.Now()
		rows, err := client.Query(context.Background(), query)
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for rows.Next() {
			var (
				id uint64
				s  string
				f  float64
			)
			if err := rows.Scan(&id, &s, &f); err != nil {
				b.Fatal(err)
			}
			count++
		}
		rows.Close()
		if count != 1_000_000 {
			b.Fatalf("driver read %d rows", count)
		}
		driverTime += time.Since(start)
	}
	if httpBytes != directBytes {
		b.Fatalf("http sent %d bytes, direct %d", httpBytes, directBytes)
	}
	b.ReportMetric(float64(httpBytes)/httpTime.Seconds()/1e6, "http-MB/s")
	b.ReportMetric(float64(directBytes)/directTime.Seconds()/1e6, "direct-MB/s")
	b.ReportMetric(directTime.Seconds()/httpTime.Seconds(), "ratio")
	b.ReportMetric(float64(b.N)*1e6/driverTime.Seconds(), "driver-rows/s")
}
