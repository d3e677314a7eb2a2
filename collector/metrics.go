package collector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the collector's Prometheus metrics (listed in doc.go).
type metrics struct {
	received        *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	requests        *prometheus.CounterVec
	publishDuration prometheus.Histogram
	publishFailures *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_collector_events_received_total",
			Help: "Events found in request bodies, accepted or not, by endpoint.",
		}, []string{"endpoint"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_collector_events_rejected_total",
			Help: "Events refused, by reason; a request refused whole counts once.",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_collector_requests_total",
			Help: "Ingestion requests answered, by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "touchstream_collector_publish_duration_seconds",
			Help:    "Time from handing a request's events to the publisher until Kafka acknowledged them (or the publish failed).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15), // 0.5 ms .. 8 s
		}),
		publishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_collector_publish_failures_total",
			Help: "Failed publishes, by topic: events (the client got 503) or rejected (dead letters lost).",
		}, []string{"topic"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_collector_rate_limited_total",
			Help: "Events refused (429, or 503 through Accept) because their source was over its rate, by source name.",
		}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.received, m.rejected, m.requests, m.publishDuration, m.publishFailures, m.rateLimited} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
