package redirect_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

const partitions = 2

// TestCollectorKafka serves the redirect from a real collector in front of
// the embedded Kafka: the click lands on clickstream.events, keyed by the
// recipient, before the 302.
func TestCollectorKafka(t *testing.T) {
	s := collectortest.New(t, partitions, collector.DefaultConfig())
	s.Server.Handle("GET /r/{token}", redirect.Handler(s.Server, [][]byte{secret, oldSecret}))
	base := s.Serve(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	link := testLink
	link.Expires = time.Now().Add(time.Hour)
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	before := time.Now().UTC().Add(-time.Second)
	if res := get("/r/" + sign(t, oldSecret, link)); res.StatusCode != http.StatusFound || res.Header.Get("Location") != link.URL {
		t.Fatalf("click: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get("/r/" + sign(t, otherKey, link)); res.StatusCode != http.StatusForbidden {
		t.Errorf("forged: %d", res.StatusCode)
	}

	msgs := testenv.ReadTopic(t, s.Kafka, pipeline.TopicEvents)
	if len(msgs) != 1 {
		t.Fatalf("%d events on %s, want 1", len(msgs), pipeline.TopicEvents)
	}
	var ev pipeline.Event
	if err := json.Unmarshal(msgs[0].Value, &ev); err != nil {
		t.Fatal(err)
	}
	if string(msgs[0].Key) != "crm-42" || ev.Type != "track" || ev.EventName != "Email Link Clicked" || ev.Touchpoint != "email" ||
		ev.VisitorID != "crm-42" || ev.UserID != "crm-42" || ev.UTMCampaign != "bf" || ev.UTMMedium != "email" ||
		ev.UTMSource != "newsletter" || ev.PageURL != link.URL || ev.WriteKey != "dev" || ev.ReceivedAt.Before(before) ||
		string(ev.Properties) != `{"url":"https://shop.test/deals?utm_source=newsletter\u0026utm_medium=email\u0026utm_campaign=bf#top","campaign":"bf"}` {
		t.Errorf("published key %q %+v properties %s", msgs[0].Key, ev, ev.Properties)
	}
}
