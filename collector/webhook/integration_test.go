package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/collectortest"
	"github.com/touchstream/touchstream/collector/webhook"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/schemas/webhooks"
)

var _ webhook.Acceptor = (*collector.Server)(nil)

const partitions = 2

// TestCollectorIntegration runs the webhook route on a real collector in
// front of the embedded Kafka: mapped events land on clickstream.events
// keyed by visitor, refused items and requests on clickstream.rejected.
func TestCollectorIntegration(t *testing.T) {
	t.Parallel()
	cfg := collector.DefaultConfig()
	cfg.WriteKeys = []string{"dev"}
	s := collectortest.New(t, partitions, cfg)
	reg, err := webhook.LoadFS(webhooks.FS, func(k string) string {
		if k == "TOUCHSTREAM_WEBHOOK_GENERIC_CHAT_SECRET" {
			return "chat-secret"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Server.Handle("POST /v1/webhooks/{source}", webhook.Handler(s.Server, reg))
	base := s.Serve(t)

	// The social example plus one item no rule matches and one with a bad
	// time; the social source is unsigned (its secret is unset).
	var batch map[string]any
	if err := json.Unmarshal(example(t, "generic-social/batch.json"), &batch); err != nil {
		t.Fatal(err)
	}
	batch["events"] = append(batch["events"].([]any),
		map[string]any{"id": "evt_x1", "type": "poll_vote", "actor": map[string]any{"id": "sn_zed"}},
		map[string]any{"id": "evt_x2", "type": "comment", "actor": map[string]any{"id": "sn_zed"}, "created_at": "not a time"},
	)
	social, _ := json.Marshal(batch)
	code, ans := post(t, base+"/v1/webhooks/generic-social", social, "Authorization: Basic ZGV2Og==")
	if code != 200 || ans != `{"accepted":6,"rejected":[{"index":6,"error":"no mapping rule matched"},{"index":7,"error":"rules[0] \"Social Comment\": timestamp: $.created_at: \"not a time\" is not an RFC 3339 time"}]}` {
		t.Fatalf("social: %d %s", code, ans)
	}

	// Chat: signed, twice (a redelivery), then unsigned.
	csat := example(t, "generic-chat/csat.rated.json")
	sig := "X-Chat-Signature: " + hmacBase64("chat-secret", csat)
	for range 2 {
		if code, ans := post(t, base+"/v1/webhooks/generic-chat?writeKey=dev", csat, sig); code != 200 || ans != `{"accepted":1,"rejected":[]}` {
			t.Fatalf("chat: %d %s", code, ans)
		}
	}
	if code, ans := post(t, base+"/v1/webhooks/generic-chat?writeKey=dev", csat); code != 401 || !strings.Contains(ans, "signature missing") {
		t.Fatalf("unsigned chat: %d %s", code, ans)
	}
	if code, _ := post(t, base+"/v1/webhooks/generic-email?writeKey=dev", csat); code != 404 {
		t.Fatalf("unknown source: %d", code)
	}

	// clickstream.events: six social events and the CSAT twice, same id.
	byID := map[string][]pipeline.Event{}
	for _, m := range testenv.ReadTopic(t, s.Kafka, pipeline.TopicEvents) {
		var ev pipeline.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("event %s: %v", m.Value, err)
		}
		if string(m.Key) != ev.VisitorID {
			t.Errorf("key %q, visitor %q", m.Key, ev.VisitorID)
		}
		byID[ev.MessageID] = append(byID[ev.MessageID], ev)
	}
	if len(byID) != 7 {
		t.Errorf("events by id: %v", byID)
	}
	for _, id := range []string{"generic-social:evt_1001", "generic-social:evt_1002", "generic-social:evt_1003",
		"generic-social:evt_1004", "generic-social:evt_1005", "generic-social:evt_1006"} {
		if evs := byID[id]; len(evs) != 1 || evs[0].Touchpoint != pipeline.TouchpointSocial || evs[0].WriteKey != "dev" {
			t.Errorf("%s: %+v", id, evs)
		}
	}
	if evs := byID["generic-chat:evt_c04"]; len(evs) != 2 || evs[0].EventName != "CSAT Rated" || string(evs[0].Properties) != string(evs[1].Properties) {
		t.Errorf("csat: %+v", evs)
	} else if !strings.Contains(string(evs[0].Properties), `"score":5`) {
		t.Errorf("csat properties %s", evs[0].Properties)
	}

	// clickstream.rejected: the two social items and the unsigned request.
	got := map[string]pipeline.Rejected{}
	for _, m := range testenv.ReadTopic(t, s.Kafka, pipeline.TopicRejected) {
		var r pipeline.Rejected
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatalf("dead letter %s: %v", m.Value, err)
		}
		got[fmt.Sprintf("%s#%d", r.Source, r.Index)] = r
	}
	if len(got) != 3 {
		t.Fatalf("dead letters: %+v", got)
	}
	if r := got["/v1/webhooks/generic-social#6"]; r.Error != "no mapping rule matched" || r.WriteKey != "dev" || !strings.Contains(string(r.Payload), `"poll_vote"`) {
		t.Errorf("unmatched: %+v", r)
	}
	if r := got["/v1/webhooks/generic-social#7"]; !strings.Contains(r.Error, "is not an RFC 3339 time") {
		t.Errorf("bad time: %+v", r)
	}
	var compact bytes.Buffer
	json.Compact(&compact, csat)
	if r := got["/v1/webhooks/generic-chat#-1"]; r.Error != "signature missing: header X-Chat-Signature is required" || !bytes.Equal(r.Payload, compact.Bytes()) {
		t.Errorf("unsigned: %+v %s", r, r.Payload)
	}

	// The collector's metrics count them under the webhook endpoint.
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`touchstream_collector_events_received_total{endpoint="/v1/webhooks/generic-social"} 8`,
		`touchstream_collector_events_received_total{endpoint="/v1/webhooks/generic-chat"} 3`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func hmacBase64(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../schemas/webhooks/examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body and returns the status and the answer without its
// trailing newline; headers are "Name: value".
func post(t *testing.T, url string, body []byte, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}
