package testenv

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// readTimeout bounds ReadTopic as a whole.
const readTimeout = 15 * time.Second

// ReadTopic returns every message on topic of the broker at addr, partition
// by partition (in offset order within each), read with a kafka-go Reader.
// It does not wait for messages still to come: it reads up to each
// partition's last offset as of the call, so it suits a test whose producer
// returned only once Kafka acknowledged (as the collector answers). It
// fails the test if the topic has no partitions or the messages cannot all
// be read within 15 seconds, saying how many were.
func ReadTopic(t testing.TB, addr, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), readTimeout)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	if len(parts) == 0 {
		t.Fatalf("topic %s has no partitions", topic)
	}
	slices.SortFunc(parts, func(a, b kafkago.Partition) int { return cmp.Compare(a.ID, b.ID) })
	var out []kafkago.Message
	for _, part := range parts {
		p := part.ID
		lc, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p)
		if err != nil {
			t.Fatalf("dial leader of %s/%d: %v", topic, p, err)
		}
		last, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatalf("last offset of %s/%d: %v", topic, p, err)
		}
		if last == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		for n := int64(0); n < last; n++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v (%d of its %d messages read, %d in all)", topic, p, err, n, last, len(out))
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}
