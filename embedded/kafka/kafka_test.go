package kafka

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/pipeline"
)

// TestBrokerWithKafkaGo produces and consumes through segmentio/kafka-go, as
// the services do, and checks the seeded topics' partition counts.
func TestBrokerWithKafkaGo(t *testing.T) {
	b, err := Start(Config{Listen: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	conn, err := kafkago.DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(pipeline.TopicEvents, pipeline.TopicRejected)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, p := range parts {
		count[p.Topic]++
	}
	if count[pipeline.TopicEvents] != 3 || count[pipeline.TopicRejected] != 3 {
		t.Fatalf("partitions: %v, want 3 each", count)
	}

	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addr()), Topic: pipeline.TopicEvents, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	msgs := []kafkago.Message{{Key: []byte("v1"), Value: []byte("a")}, {Key: []byte("v2"), Value: []byte("b")}, {Key: []byte("v1"), Value: []byte("c")}}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "test", Topic: pipeline.TopicEvents, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	got := map[string][]string{}
	partOf := map[string]int{}
	for i := 0; i < len(msgs); i++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		got[string(m.Key)] = append(got[string(m.Key)], string(m.Value))
		if p, ok := partOf[string(m.Key)]; ok && p != m.Partition {
			t.Errorf("key %s on partitions %d and %d", m.Key, p, m.Partition)
		}
		partOf[string(m.Key)] = m.Partition
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(got["v1"]) != 2 || got["v1"][0] != "a" || got["v1"][1] != "c" || len(got["v2"]) != 1 {
		t.Errorf("consumed %v, want v1:[a c] v2:[b] in order per key", got)
	}
}
