package processor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events       *prometheus.CounterVec
	sessions     prometheus.Counter
	flush        prometheus.Histogram
	flushErrors  prometheus.Counter
	writes       prometheus.Histogram
	writeBatches prometheus.Histogram
	visitors     prometheus.Gauge
	lag          *prometheus.GaugeVec
	rejoins      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_processor_events_total", Help: "Consumed events by result: written, duplicate, late, invalid.",
		}, []string{"result"}),
		sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_processor_sessions_written_total", Help: "Session rows written, including restatements and tombstones.",
		}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "touchstream_processor_flush_duration_seconds", Help: "Time to write one batch of events and sessions.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_processor_flush_errors_total", Help: "Failed batch write attempts (retried).",
		}),
		writes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "touchstream_processor_write_duration_seconds", Help: "Time to write the merged batches of the partitions flushing together, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		writeBatches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "touchstream_processor_write_partitions", Help: "Partition batches merged into one write.",
			Buckets: prometheus.LinearBuckets(1, 1, 16),
		}),
		visitors: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "touchstream_processor_open_visitors", Help: "Visitors held in sessionizer state.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "touchstream_processor_lag_seconds", Help: "Wall time minus the newest consumed event's received_at.",
		}, []string{"partition"}),
		rejoins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_processor_rejoins_total", Help: "Consumer group errors after which the processor joined its group again.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.sessions, m.flush, m.flushErrors, m.writes, m.writeBatches, m.visitors, m.lag, m.rejoins} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
