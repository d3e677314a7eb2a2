package kafka_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
)

// TestCollectorKeepsSiblingsOfRefusedEvent: a collector without a spool
// in front of a broker that refuses records over 4000 bytes. A batch with
// one event too large for the broker (but within the collector's own 32 KB
// limit) is answered 200: its siblings are accepted and in Kafka, the big
// one is a rejection with Kafka's reason and a dead letter. A 503 would
// make the client retry the same batch for ever.
func TestCollectorKeepsSiblingsOfRefusedEvent(t *testing.T) {
	c := smallBroker(t)
	defer c.Close()
	addr := c.ListenAddrs()[0]
	pub := kafka.NewPublisher([]string{addr}, nil)
	defer pub.Close()
	srv, err := collector.New(collector.DefaultConfig(), pub, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	ev := func(id, props string) string {
		return `{"type":"track","event":"Product Viewed","anonymousId":"v-` + id + `","messageId":"` + id + `","properties":` + props + `}`
	}
	big := `{"blob":"` + strings.Repeat("x", 6000) + `"}`
	body := `{"writeKey":"dev","batch":[` + ev("ok-1", `{}`) + `,` + ev("too-big", big) + `,` + ev("ok-2", `{}`) + `]}`
	resp, err := http.Post(hs.URL+"/v1/batch", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index int    `json:"index"`
			Error string `json:"error"`
		} `json:"rejected"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || answer.Accepted != 2 || len(answer.Rejected) != 1 ||
		answer.Rejected[0].Index != 1 || !strings.Contains(answer.Rejected[0].Error, "kafka refused") {
		t.Fatalf("answer %d %+v: want 200, 2 accepted, index 1 refused by Kafka", resp.StatusCode, answer)
	}

	var ids []string
	for _, m := range testenv.ReadTopic(t, addr, pipeline.TopicEvents) {
		var e pipeline.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.MessageID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"ok-1", "ok-2"}) {
		t.Errorf("events in Kafka: %v, want ok-1 and ok-2", ids)
	}
	var dead []pipeline.Rejected
	for _, m := range testenv.ReadTopic(t, addr, pipeline.TopicRejected) {
		var r pipeline.Rejected
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatal(err)
		}
		dead = append(dead, r)
	}
	if len(dead) != 1 || dead[0].Index != 1 || !strings.Contains(dead[0].Error, "kafka refused") {
		t.Errorf("dead letters: %+v, want one for index 1", dead)
	}
}
