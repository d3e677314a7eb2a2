package processor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events       *prometheus.CounterVec
	sessions     prometheus.Counter
	flush        prometheus.Histogram
	flushErrors  prometheus.Counter
	writes       prometheus.Histogram
	writeBatches prometheus.Histogram
	visitors     *prometheus.GaugeVec
	openSessions *prometheus.GaugeVec
	restated     prometheus.Counter
	flushEvents  prometheus.Histogram
	lag          *prometheus.GaugeVec
	lagMessages  *prometheus.GaugeVec
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
		visitors: perPartition("touchstream_processor_open_visitors",
			"Visitors held in sessionizer state, per assigned partition (set at each flush)."),
		openSessions: perPartition("touchstream_processor_open_sessions",
			"Sessions held in sessionizer state (the ones a late event may still change), per assigned partition (set at each flush)."),
		restated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_processor_sessions_restated_total", Help: "Session rows rewritten because an event arrived out of order within the lateness allowance (new versions and tombstones).",
		}),
		flushEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "touchstream_processor_flush_events", Help: "Events in one partition's flushed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		lag: perPartition("touchstream_processor_lag_seconds",
			"Wall time minus the newest consumed event's received_at."),
		lagMessages: perPartition("touchstream_processor_consumer_lag_messages",
			"Messages in the partition after the newest one consumed (high watermark minus next offset), per assigned partition."),
		rejoins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_processor_rejoins_total", Help: "Consumer group errors after which the processor joined its group again.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.sessions, m.flush, m.flushErrors, m.writes, m.writeBatches, m.visitors, m.openSessions, m.restated, m.flushEvents, m.lag, m.lagMessages, m.rejoins} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// perPartition returns a gauge with one series per assigned partition,
// labelled "partition".
func perPartition(name, help string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"partition"})
}

// partGauges are one partition's gauges, looked up once when the
// partition starts rather than by label for every message.
type partGauges struct {
	lag, lagMessages, visitors, openSessions prometheus.Gauge
}

// partition returns the gauges of partition.
func (m *metrics) partition(partition string) partGauges {
	return partGauges{
		lag:          m.lag.WithLabelValues(partition),
		lagMessages:  m.lagMessages.WithLabelValues(partition),
		visitors:     m.visitors.WithLabelValues(partition),
		openSessions: m.openSessions.WithLabelValues(partition),
	}
}

// forget removes a partition's gauges (all of partGauges) when the
// partition leaves this process (revoked, or the process stops): its state
// is gone, and another process reports it now. A lag left behind would
// stay frozen at its last value and keep max(lag) alerts firing.
func (m *metrics) forget(partition string) {
	for _, g := range []*prometheus.GaugeVec{m.lag, m.lagMessages, m.visitors, m.openSessions} {
		g.DeleteLabelValues(partition)
	}
}
