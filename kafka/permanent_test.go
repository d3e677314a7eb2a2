package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
)

// smallBroker is a kfake broker whose records may be at most 4000 bytes.
func smallBroker(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(2, pipeline.TopicEvents, pipeline.TopicRejected),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4000"}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPermanentErrors: a record the broker refuses as too large is a
// *collector.PermanentError, alone or with good records beside it; a
// broker that went away is not.
func TestPermanentErrors(t *testing.T) {
	c := smallBroker(t)
	addr := c.ListenAddrs()[0]
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	big := testEvent(100, "v1")
	big.Properties = json.RawMessage(`{"blob":"` + strings.Repeat("x", 6000) + `"}`)

	if err := pub.Publish(t.Context(), []pipeline.Event{testEvent(1, "v1")}); err != nil {
		t.Fatalf("small event: %v", err)
	}
	for name, evs := range map[string][]pipeline.Event{
		"alone":       {big},
		"with others": {testEvent(2, "v1"), big, testEvent(3, "v2")},
	} {
		err := pub.Publish(t.Context(), evs)
		var perm *collector.PermanentError
		if !errors.As(err, &perm) {
			t.Errorf("%s: %v, want a PermanentError", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := pub.Publish(ctx, []pipeline.Event{testEvent(4, "v1")})
	var perm *collector.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Errorf("broker down: %v, want a retryable error", err)
	}
}
