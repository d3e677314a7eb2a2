package tracker_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/collector/tracker"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

const partitions = 2

// TestCollectorKafka replays the requests t.js made in the Node test
// against a real collector (with the routes of endpoints.Register) in
// front of the embedded Kafka: every event is accepted and lands on
// clickstream.events, page views as type page, touchpoint web, with
// page_url, and the engaged time in engagement_time_msec.
func TestCollectorKafka(t *testing.T) {
	fixture := runNode(t)
	raw, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []struct {
		URL, ContentType, Body, Via string
	}
	if err := json.Unmarshal(raw, &reqs); err != nil || len(reqs) == 0 {
		t.Fatalf("fixture: %v (%d requests)", err, len(reqs))
	}

	s := collectortest.New(t, partitions, collector.DefaultConfig())
	if err := endpoints.Register(s.Server, endpoints.Config{}); err != nil {
		t.Fatal(err)
	}
	base := s.Serve(t)

	// The collector serves the script itself.
	res, err := http.Get(base + "/t.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/javascript; charset=utf-8" || !bytes.Equal(js, tracker.Script) {
		t.Fatalf("GET /t.js from the collector: %d %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(js))
	}

	sent := map[string]map[string]any{} // messageId -> event as t.js sent it
	for i, r := range reqs {
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Batch []map[string]any `json:"batch"`
		}
		if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
			t.Fatal(err)
		}
		for _, ev := range b.Batch {
			sent[ev["messageId"].(string)] = ev
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+u.RequestURI(), bytes.NewReader([]byte(r.Body)))
		req.Header.Set("Content-Type", r.ContentType)
		req.Header.Set("Origin", "https://shop.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var ans struct {
			Accepted int   `json:"accepted"`
			Rejected []any `json:"rejected"`
		}
		if err := json.Unmarshal(body, &ans); res.StatusCode != 200 || err != nil || ans.Accepted != len(b.Batch) || len(ans.Rejected) != 0 {
			t.Fatalf("request %d (%s %s): %d %s, want accepted %d", i, r.Via, u.RequestURI(), res.StatusCode, body, len(b.Batch))
		}
	}

	msgs := testenv.ReadTopic(t, s.Kafka, pipeline.TopicEvents)
	if len(msgs) != len(sent) {
		t.Fatalf("%d events on %s, want %d", len(msgs), pipeline.TopicEvents, len(sent))
	}
	var pages, engaged int
	var engagedMS int64
	for _, m := range msgs {
		var ev pipeline.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		in, ok := sent[ev.MessageID]
		if !ok {
			t.Fatalf("unexpected event %s", m.Value)
		}
		if ev.Touchpoint != "web" || ev.VisitorID != in["anonymousId"] || string(m.Key) != ev.VisitorID || ev.LibraryName != "touchstream.js" ||
			ev.WriteKey != "dev" || ev.UTMSource != "newsletter" || ev.UTMMedium != "email" || ev.UTMCampaign != "spring" || ev.PageURL == "" {
			t.Errorf("event %s", m.Value)
		}
		switch {
		case ev.Type == "page":
			pages++
			props := in["properties"].(map[string]any)
			if ev.PageURL != props["url"] || ev.PagePath != props["path"] || ev.Referrer != props["referrer"] {
				t.Errorf("page %s, sent %v", m.Value, props)
			}
		case ev.Type == "track" && ev.EventName == "Page Engagement":
			engaged++
			engagedMS += ev.EngagementMS
		}
	}
	if pages != 3 || engaged != 3 || engagedMS != 1500+500+200 {
		t.Errorf("%d page views, %d engagement events totalling %d ms; want 3, 3, 2200", pages, engaged, engagedMS)
	}
}
