package collectortest

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
)

// Stack is a collector publishing to an embedded Kafka broker, both closed
// when the test ends.
type Stack struct {
	Kafka   string               // the broker's address
	Server  *collector.Server    // add routes with Handle, then Serve
	Metrics *prometheus.Registry // where the collector registered its metrics
}

// New starts an embedded Kafka broker with the pipeline's topics,
// partitions each, and a collector with cfg publishing to it through
// kafka.NewPublisher.
func New(t testing.TB, partitions int, cfg collector.Config) *Stack {
	t.Helper()
	addr := testenv.Kafka(t, partitions)
	pub := kafka.NewPublisher([]string{addr}, nil)
	t.Cleanup(func() { pub.Close() })
	reg := prometheus.NewRegistry()
	srv, err := collector.New(cfg, pub, reg, nil)
	if err != nil {
		t.Fatalf("new collector: %v", err)
	}
	return &Stack{Kafka: addr, Server: srv, Metrics: reg}
}

// Serve serves the collector's handler on a local HTTP server, closed when
// the test ends, and returns its base URL. Add the routes first.
func (s *Stack) Serve(t testing.TB) string {
	t.Helper()
	hs := httptest.NewServer(s.Server.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}
