package generate

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
)

// TestSendThroughCollector sends a world to a real collector (every
// endpoint, a real embedded Kafka behind it), with a link secret and
// without, and checks that each event lands as Expected takes it: its
// visitor (Event.Visitor), user, type, name, touchpoint and campaign, and
// its time, except a click through the redirect, recorded when received.
func TestSendThroughCollector(t *testing.T) {
	w := testWorld(t, 80, 12)
	_, pixels, clicks := countVia(w, true)
	if pixels == 0 || clicks == 0 {
		t.Fatalf("%d opens, %d clicks", pixels, clicks)
	}
	for _, tc := range []struct {
		name   string
		secret []byte
	}{{"redirect", testSecret}, {"segment fallback", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := collector.DefaultConfig()
			cfg.RatePerSecond = 0
			s := collectortest.New(t, 2, cfg)
			if err := endpoints.Register(s.Server, endpoints.Config{LinkSecrets: [][]byte{testSecret}, Logger: slog.New(slog.DiscardHandler)}); err != nil {
				t.Fatal(err)
			}
			base := s.Serve(t)
			before := time.Now().UTC().Add(-time.Second)
			stats, err := Send(t.Context(), w, base, SendOptions{BatchSize: 50, Concurrency: 2, LinkSecret: tc.secret, Progress: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now().UTC().Add(time.Second)
			if stats.Events != len(w.Events()) || stats.Pixels != pixels || (stats.Clicks == clicks) != (tc.secret != nil) {
				t.Fatalf("stats %+v", stats)
			}

			got := map[string]pipeline.Event{} // by message id; a redirected click by "click:" and visitor
			for _, m := range testenv.ReadTopic(t, s.Kafka, pipeline.TopicEvents) {
				var ev pipeline.Event
				if err := json.Unmarshal(m.Value, &ev); err != nil {
					t.Fatal(err)
				}
				key := ev.MessageID
				if ev.LibraryName == "touchstream-redirect" {
					key = "click:" + ev.VisitorID
				}
				if _, dup := got[key]; dup {
					t.Fatalf("%s published twice", key)
				}
				got[key] = ev
			}
			if len(got) != len(w.Events()) {
				t.Fatalf("%d events published, want %d", len(got), len(w.Events()))
			}
			for i := range w.Events() {
				e := &w.Events()[i]
				key := receivedAs(e, tc.secret != nil)
				ev, ok := got[key]
				if !ok {
					t.Fatalf("%s (%s %s) not published", key, e.Type, e.Name)
				}
				var c Campaign
				if e.Campaign != nil {
					c = *e.Campaign
				}
				tp, _ := e.Properties["touchpoint"].(string)
				if tp == "" {
					tp = pipeline.TouchpointWeb
				}
				name := e.Name
				if e.Type == pipeline.TypeIdentify {
					name = ""
				}
				if ev.VisitorID != e.Visitor() || ev.UserID != e.UserID || ev.Type != e.Type || ev.EventName != name ||
					ev.Touchpoint != tp || ev.UTMSource != c.Source || ev.UTMMedium != c.Medium || ev.UTMCampaign != c.Name {
					t.Fatalf("%s: published %+v for %+v", key, ev, *e)
				}
				if e.Via == ViaRedirect && tc.secret != nil {
					if ev.EventTime.Before(before) || ev.EventTime.After(after) || ev.PageURL != e.Page.URL {
						t.Fatalf("click %s: published %+v, want the time it was sent", key, ev)
					}
				} else if !ev.EventTime.Equal(e.Time) {
					t.Fatalf("%s: time %v, want %v", key, ev.EventTime, e.Time)
				}
			}
		})
	}
}
