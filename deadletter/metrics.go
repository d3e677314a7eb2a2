package deadletter

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	written      prometheus.Counter
	writeErrors  *prometheus.CounterVec
	commitErrors prometheus.Counter
	undecodable  prometheus.Counter
	flush        prometheus.Histogram
	rejoins      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_deadletters_written_total", Help: "Dead letters written to rejected_events (a replayed one counts again).",
		}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchstream_deadletters_write_errors_total", Help: "Failed writes of a dead-letter batch by kind: retryable, permanent (both are retried).",
		}, []string{"kind"}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_deadletters_commit_errors_total", Help: "Offset commits that failed after a successful write.",
		}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_deadletters_undecodable_total", Help: "Messages on the dead-letter topic that were not a pipeline.Rejected (kept raw).",
		}),
		rejoins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_deadletters_rejoins_total", Help: "Times the dead-letter consumer lost Kafka (an outage, say) and joined its group again.",
		}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "touchstream_deadletters_flush_duration_seconds", Help: "Time to write and commit one batch of dead letters, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
	}
	m.writeErrors.WithLabelValues(kindRetryable)
	m.writeErrors.WithLabelValues(kindPermanent)
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.written, m.writeErrors, m.commitErrors, m.undecodable, m.flush, m.rejoins} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
