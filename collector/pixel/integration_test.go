package pixel_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/pixel"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

const partitions = 2

// TestCollectorKafka serves the pixel from a real collector in front of the
// embedded Kafka: an open lands on clickstream.events keyed by the visitor,
// a pixel without an id on clickstream.rejected.
func TestCollectorKafka(t *testing.T) {
	s := collectortest.New(t, partitions, collector.DefaultConfig())
	s.Server.Handle("GET /pixel/v1/{kind}", pixel.Handler(s.Server))
	base := s.Serve(t)

	get := func(target string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+target, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	before := time.Now().UTC().Add(-time.Second)
	if res := get("/pixel/v1/track?writeKey=dev&aid=r-7&messageId=px-1&utm_source=newsletter&utm_medium=email&utm_campaign=bf"); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("open: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res := get("/pixel/v1/page?writeKey=dev&name=Welcome"); res.StatusCode != 200 {
		t.Fatalf("no id: %d", res.StatusCode)
	}

	msgs := testenv.ReadTopic(t, s.Kafka, pipeline.TopicEvents)
	if len(msgs) != 1 {
		t.Fatalf("%d events on %s, want 1", len(msgs), pipeline.TopicEvents)
	}
	var ev pipeline.Event
	if err := json.Unmarshal(msgs[0].Value, &ev); err != nil {
		t.Fatal(err)
	}
	if string(msgs[0].Key) != "r-7" || ev.MessageID != "px-1" || ev.Type != "track" || ev.EventName != "Email Opened" ||
		ev.Touchpoint != "email" || ev.VisitorID != "r-7" || ev.UTMCampaign != "bf" || ev.UTMMedium != "email" ||
		ev.UTMSource != "newsletter" || ev.WriteKey != "dev" || ev.ReceivedAt.Before(before) || !ev.EventTime.Equal(ev.ReceivedAt) {
		t.Errorf("published key %q %+v", msgs[0].Key, ev)
	}

	dead := testenv.ReadTopic(t, s.Kafka, pipeline.TopicRejected)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	var d pipeline.Rejected
	if err := json.Unmarshal(dead[0].Value, &d); err != nil {
		t.Fatal(err)
	}
	if d.Source != "/pixel/v1/page" || d.WriteKey != "dev" || d.Error != "anonymousId (aid) or userId (uid) is required" || string(d.Payload) != `"writeKey=dev\u0026name=Welcome"` {
		t.Errorf("dead letter %+v payload %s", d, d.Payload)
	}
}
