package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchBody is a batch of 100 events shaped as bench/collector_test.go
// sends them (analytics.js track events of ~660 bytes).
func benchBody() []byte {
	var evs []string
	for i := range 100 {
		evs = append(evs, fmt.Sprintf(`{"anonymousId":"anon-%08x","context":{"campaign":{"medium":"cpc","name":"spring_sale","source":"google"},"library":{"name":"analytics.js","version":"5.2.0"},"locale":"en-US","page":{"path":"/products/sku-%d","referrer":"https://www.google.com/","title":"Shop","url":"https://shop.example.com/products/sku-%d"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"},"event":"Product Viewed","messageId":"bench-0-%d-00000000deadbeef","properties":{"cart_id":"cart-anon-%08x","currency":"USD","price":42,"product_id":"sku-%d"},"timestamp":"2026-11-22T11:00:00.123456789Z","type":"track"}`, i, i, i, i, i, i))
	}
	return []byte(`{"batch":[` + strings.Join(evs, ",") + `],"sentAt":"2026-11-22T11:00:00.5Z","writeKey":"bench"}`)
}

// BenchmarkDecode measures the collector's decoding of a 100-event batch:
// tooDeep, decodeSegment and normalize of each event, per event.
func BenchmarkDecode(b *testing.B) {
	body := benchBody()
	m := batchMeta{receivedAt: time.Now().UTC()}
	b.ReportAllocs()
	for b.Loop() {
		if tooDeep(body, MaxJSONDepth) {
			b.Fatal("too deep")
		}
		req, err := decodeSegment(body, "")
		if err != nil {
			b.Fatal(err)
		}
		m.context, m.sentAt = req.context, req.sentAt
		for _, raw := range req.events {
			if _, eerr := normalize(raw, &m); eerr != nil {
				b.Fatal(eerr)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100/1000, "us/event")
}

// BenchmarkDecodeReference is BenchmarkDecode with the encoding/json
// implementation the collector had before (reference_test.go).
func BenchmarkDecodeReference(b *testing.B) {
	body := benchBody()
	m := refBatchMeta{receivedAt: time.Now().UTC()}
	b.ReportAllocs()
	for b.Loop() {
		if refTooDeep(body, MaxJSONDepth) {
			b.Fatal("too deep")
		}
		req, err := refDecodeSegment(body, "")
		if err != nil {
			b.Fatal(err)
		}
		m.context, m.sentAt = req.context, req.sentAt
		for _, raw := range req.events {
			if _, eerr := refNormalize(raw, &m); eerr != nil {
				b.Fatal(eerr)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100/1000, "us/event")
}
