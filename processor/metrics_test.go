package processor_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
)

// TestPartitionMetrics runs a processor over a one-partition topic on the
// embedded Kafka and checks the metrics issue 5 asks for beyond the event
// counts: consumer lag in messages, open visitors and sessions per
// partition, restated sessions (one out-of-order event restates one
// session), events per flush (their sum is every event written), and that
// a partition's gauges go away with the partition.
func TestPartitionMetrics(t *testing.T) {
	addr := testenv.Kafka(t, 1)
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	n := 0
	ev := func(visitor string, at time.Duration) pipeline.Event {
		n++
		return pipeline.Event{MessageID: fmt.Sprintf("m%02d", n), Type: pipeline.TypePage, EventName: "Home",
			PagePath: "/", VisitorID: visitor, EventTime: t0.Add(at), ReceivedAt: t0, Touchpoint: pipeline.TouchpointWeb}
	}
	events := []pipeline.Event{
		ev("v1", 0),
		ev("v1", 10*time.Minute),
		ev("v2", time.Minute),
		ev("v2", 3*time.Hour),   // a second session of v2
		ev("v1", 5*time.Minute), // out of order: restates v1's session
		ev("v3", 2*time.Minute),
	}
	dup := events[2] // a redelivery: consumed, not written
	pub := kafka.NewPublisher([]string{addr}, nil)
	if err := pub.Publish(t.Context(), append(events, dup)); err != nil {
		t.Fatal(err)
	}
	pub.Close()

	cfg := processor.DefaultConfig()
	cfg.Brokers = []string{addr}
	cfg.GroupID = "metrics"
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.Logger = slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	p, err := processor.New(cfg, newTableSink(), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	want := map[string]float64{
		`touchstream_processor_consumer_lag_messages{partition="0"}`: 0,
		`touchstream_processor_open_visitors{partition="0"}`:         3,
		`touchstream_processor_open_sessions{partition="0"}`:         4,
		`touchstream_processor_sessions_restated_total`:              1,
		`touchstream_processor_flush_events_sum`:                     float64(len(events)),
	}
	var got map[string]float64
	deadline := time.Now().Add(20 * time.Second)
	for {
		got = gather(t, reg)
		if equalOn(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: metrics %v, want %v", pick(got, want), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := got["touchstream_processor_flush_events_count"]; c < 1 {
		t.Errorf("flush_events observed %v flushes, want >= 1", c)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got = gather(t, reg)
	for _, k := range []string{`touchstream_processor_open_visitors{partition="0"}`, `touchstream_processor_open_sessions{partition="0"}`, `touchstream_processor_consumer_lag_messages{partition="0"}`, `touchstream_processor_lag_seconds{partition="0"}`} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %v after the partition ended, want it removed", k, v)
		}
	}
}

// gather flattens a registry: name{label="value"} -> value for gauges and
// counters, name_sum and name_count for histograms.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if lp := m.GetLabel(); len(lp) > 0 {
				name += "{"
				for i, l := range lp {
					if i > 0 {
						name += ","
					}
					name += fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
				}
				name += "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[name+"_sum"] = m.GetHistogram().GetSampleSum()
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func equalOn(got, want map[string]float64) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

func pick(got, want map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range want {
		if v, ok := got[k]; ok {
			out[k] = v
		}
	}
	return out
}
