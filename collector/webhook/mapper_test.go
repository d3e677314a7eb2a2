package webhook

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/schemas/webhooks"
)

var receivedAt = time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)

const examplesDir = "../../schemas/webhooks/examples"

// noEnv is a getenv with nothing set: shipped signature checks stay off.
func noEnv(string) string { return "" }

func shipped(t testing.TB) *Registry {
	t.Helper()
	reg, err := LoadFS(webhooks.FS, noEnv)
	if err != nil {
		t.Fatalf("load shipped mappings: %v", err)
	}
	return reg
}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// want is an expected event with the fields every mapped event shares
// filled in by expand.
func expand(source string, evs ...pipeline.Event) []pipeline.Event {
	for i := range evs {
		evs[i].Type = pipeline.TypeTrack
		evs[i].ReceivedAt = receivedAt
		evs[i].LibraryName = "webhook/" + source
		evs[i].WriteKey = "dev"
	}
	return evs
}

// sameEvents compares events field by field, properties as JSON values.
func sameEvents(t *testing.T, got, want []pipeline.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !jsonEqual(t, g.Properties, w.Properties) {
			t.Errorf("event %d properties:\n got %s\nwant %s", i, g.Properties, w.Properties)
		}
		g.Properties, w.Properties = nil, nil
		if !g.EventTime.Equal(w.EventTime) {
			t.Errorf("event %d event_time: got %s, want %s", i, g.EventTime, w.EventTime)
		}
		g.EventTime, w.EventTime = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("properties %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("properties %s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func dump(evs []pipeline.Event) string {
	var sb strings.Builder
	for _, e := range evs {
		b, _ := json.Marshal(e)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

func props(s string) json.RawMessage { return json.RawMessage(s) }

func TestShippedExamples(t *testing.T) {
	t.Parallel()
	reg := shipped(t)
	if got := strings.Join(reg.Sources(), ","); got != "generic-chat,generic-social" {
		t.Fatalf("sources %s", got)
	}
	const anon = "4f9c2d1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f"
	tests := []struct {
		source, file string
		want         []pipeline.Event
	}{
		{"generic-social", "generic-social/batch.json", expand("generic-social",
			pipeline.Event{
				MessageID: "generic-social:evt_1001", EventTime: at("2026-11-20T10:15:00Z"),
				EventName: "Social Comment", Touchpoint: "social", VisitorID: "sn_ann",
				UTMSource: "generic", UTMMedium: "social", UTMCampaign: "black-friday",
				Properties: props(`{"account_id":"acme","comment_id":"cmt_5","handle":"@ann","network":"generic","post_id":"post_77","post_url":"https://social.example/acme/posts/77","text":"Does it come in blue?"}`),
			},
			pipeline.Event{
				MessageID: "generic-social:evt_1002", EventTime: at("2026-11-20T10:16:30.25Z"),
				EventName: "Social Mention", Touchpoint: "social", VisitorID: "sn_bob", UserID: "user_42",
				UTMSource: "generic", UTMMedium: "social",
				Properties: props(`{"account_id":"acme","handle":"@bob","mention_id":"mnt_9","mention_url":"https://social.example/bob/posts/3","network":"generic","text":"Just got my order from @acme, love it"}`),
			},
			pipeline.Event{
				MessageID: "generic-social:evt_1003", EventTime: at("2026-11-20T09:17:00Z"),
				EventName: "Social Share", Touchpoint: "social", VisitorID: "sn_cat",
				UTMSource: "generic", UTMMedium: "social", UTMCampaign: "black-friday",
				Properties: props(`{"account_id":"acme","handle":"@cat","network":"generic","post_id":"post_77","post_url":"https://social.example/acme/posts/77","share_id":"shr_2","share_url":"https://social.example/cat/posts/12","text":"Worth a look"}`),
			},
			pipeline.Event{
				MessageID: "generic-social:evt_1004", EventTime: at("2026-11-20T10:18:00Z"),
				EventName: "Social Like", Touchpoint: "social", VisitorID: "sn_dan",
				UTMSource: "generic", UTMMedium: "social",
				Properties: props(`{"account_id":"acme","handle":"@dan","network":"generic","post_id":"post_78","post_url":"https://social.example/acme/posts/78","reaction":"like"}`),
			},
			pipeline.Event{
				MessageID: "generic-social:evt_1005", EventTime: at("2026-11-20T10:19:00Z"),
				EventName: "Social Direct Message", Touchpoint: "social", VisitorID: "sn_ann",
				UTMSource: "generic", UTMMedium: "social",
				Properties: props(`{"account_id":"acme","conversation_id":"dmc_4","dm_id":"dm_31","handle":"@ann","network":"generic"}`),
			},
			pipeline.Event{
				MessageID: "generic-social:evt_1006", EventTime: at("2026-11-20T10:19:30Z"),
				EventName: "Social Follow", Touchpoint: "social", VisitorID: "sn_eve",
				UTMSource: "generic", UTMMedium: "social",
				Properties: props(`{"account_id":"acme","followers":15231,"handle":"@eve","network":"generic"}`),
			},
		)},
		{"generic-chat", "generic-chat/conversation.started.json", expand("generic-chat", pipeline.Event{
			MessageID: "generic-chat:evt_c01", EventTime: at("2026-11-20T10:15:00Z"),
			EventName: "Chat Started", Touchpoint: "chat", VisitorID: anon, UserID: "user_42",
			PageURL: "https://shop.example/checkout?step=payment", PagePath: "/checkout",
			Properties: props(`{"channel":"web_widget","conversation_id":"conv_42","inbox":"support","initiated_by":"contact"}`),
		})},
		{"generic-chat", "generic-chat/message.created.json", expand("generic-chat", pipeline.Event{
			MessageID: "generic-chat:evt_c02", EventTime: at("2026-11-20T10:15:42.5Z"),
			EventName: "Chat Message", Touchpoint: "chat", VisitorID: anon, UserID: "user_42",
			Properties: props(`{"agent_id":"ag_3","channel":"web_widget","chat_message_id":"msg_901","conversation_id":"conv_42","inbox":"support","sender":"agent"}`),
		})},
		{"generic-chat", "generic-chat/conversation.resolved.json", expand("generic-chat", pipeline.Event{
			MessageID: "generic-chat:evt_c03", EventTime: at("2026-11-20T10:25:00Z"),
			EventName: "Chat Resolved", Touchpoint: "chat", VisitorID: anon, UserID: "user_42",
			Properties: props(`{"channel":"web_widget","conversation_id":"conv_42","first_response_seconds":42,"inbox":"support","messages":6,"resolution_seconds":600,"resolved_by":"agent"}`),
		})},
		{"generic-chat", "generic-chat/csat.rated.json", expand("generic-chat", pipeline.Event{
			MessageID: "generic-chat:evt_c04", EventTime: at("2026-11-20T10:26:40Z"),
			EventName: "CSAT Rated", Touchpoint: "chat", VisitorID: anon, UserID: "user_42",
			Properties: props(`{"channel":"web_widget","comment":"Quick and friendly","conversation_id":"conv_42","inbox":"support","score":5}`),
		})},
		{"generic-chat", "generic-chat/nps.rated.json", expand("generic-chat", pipeline.Event{
			MessageID: "generic-chat:evt_c05", EventTime: at("2026-11-21T10:26:40Z"),
			EventName: "NPS Rated", Touchpoint: "chat", VisitorID: "ct_77", UserID: "user_42",
			Properties: props(`{"score":9,"survey_id":"nps_q4"}`),
		})},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			m, ok := reg.Mapping(tc.source)
			if !ok {
				t.Fatalf("no mapping %s", tc.source)
			}
			evs, dead, err := m.Map(readExample(t, tc.file), receivedAt, "dev")
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) > 0 {
				t.Errorf("dead letters: %+v", dead)
			}
			sameEvents(t, evs, tc.want)
		})
	}
	// Every example is covered.
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*", "*.json"))
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		rel, _ := filepath.Rel(examplesDir, f)
		if !seen[filepath.ToSlash(rel)] {
			t.Errorf("example %s has no test case", rel)
		}
	}
}

// TestLoadDirMatchesEmbedded loads the mapping directory from disk, as the
// collector's --webhooks-dir does, and checks it equals the embedded set.
func TestLoadDirMatchesEmbedded(t *testing.T) {
	t.Setenv("TOUCHSTREAM_WEBHOOK_GENERIC_SOCIAL_SECRET", "")
	t.Setenv("TOUCHSTREAM_WEBHOOK_GENERIC_CHAT_SECRET", "")
	reg, err := Load("../../schemas/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(reg.Sources(), ","), strings.Join(shipped(t).Sources(), ","); got != want {
		t.Errorf("sources from disk %s, embedded %s", got, want)
	}
	m, _ := reg.Mapping("generic-social")
	if m.Signed() {
		t.Error("signature check on without its secret")
	}
	if !strings.HasSuffix(m.File(), filepath.Join("webhooks", "generic-social.json")) {
		t.Errorf("file %s", m.File())
	}
}

// testMapping compiles a mapping from JSON text.
func testMapping(t testing.TB, text string) *Mapping {
	t.Helper()
	m, err := parseMapping("test.json", []byte(text), noEnv)
	if err != nil {
		t.Fatalf("mapping: %v", err)
	}
	return m
}

func TestDeadLettersKeepGoodSiblings(t *testing.T) {
	t.Parallel()
	m, _ := shipped(t).Mapping("generic-social")
	body := `{"events":[
		{"id":"e1","type":"comment","actor":{"id":"a1"},"created_at":"2026-11-20T10:00:00Z"},
		{"id":"e2","type":"poll_vote","actor":{"id":"a2"}},
		"not an object",
		{"id":"e4","type":"like","actor":{"id":"a4"},"created_at":"yesterday"},
		{"id":"e5","type":"follow","actor":{"handle":"@nobody"}},
		{"id":"e6","type":"follow","actor":{"id":"a6"},"account":{"followers_count":-3}},
		{"id":"e7","type":"share","actor":{"id":{"nested":true}}},
		null,
		{"id":"e9","type":"mention","actor":{"id":9}}
	]}`
	evs, dead, err := m.Map([]byte(body), receivedAt, "dev")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.MessageID+"/"+e.VisitorID)
	}
	if got := strings.Join(ids, " "); got != "generic-social:e1/a1 generic-social:e9/9" {
		t.Errorf("events %s", got)
	}
	want := []struct {
		index int
		err   string
	}{
		{1, "no mapping rule matched"},
		{2, "item: must be a JSON object, got string"},
		{3, `rules[3] "Social Like": timestamp: $.created_at: "yesterday" is not an RFC 3339 time`},
		{4, `rules[5] "Social Follow": visitor_id: not found, and no user_id either`},
		{5, `rules[5] "Social Follow": properties.followers: $.account.followers_count: -3 is below the minimum 0`},
		{6, `rules[2] "Social Share": visitor_id: $.actor.id: must be a string or number, got object`},
		{7, "item: must be a JSON object, got null"},
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters %+v", dead)
	}
	for i, w := range want {
		d := dead[i]
		if d.Index != w.index || d.Error != w.err {
			t.Errorf("dead letter %d: got %d %q, want %d %q", i, d.Index, d.Error, w.index, w.err)
		}
		if d.Source != "/v1/webhooks/generic-social" || d.WriteKey != "dev" || !d.ReceivedAt.Equal(receivedAt) {
			t.Errorf("dead letter %d: %+v", i, d)
		}
		if !json.Valid(d.Payload) {
			t.Errorf("dead letter %d payload %q", i, d.Payload)
		}
	}
	if string(dead[0].Payload) != `{"actor":{"id":"a2"},"id":"e2","type":"poll_vote"}` {
		t.Errorf("payload %s", dead[0].Payload)
	}
}

func TestBodyErrors(t *testing.T) {
	t.Parallel()
	social, _ := shipped(t).Mapping("generic-social")
	tests := []struct{ body, err string }{
		{``, "body: empty"},
		{`  `, "body: empty"},
		{`{"events":`, "body: invalid JSON: unexpected EOF"},
		{`{"events":[]} x`, "body: invalid JSON: data after the top-level value"},
		{`{"items":[]}`, "body: events_path $.events: not found"},
		{`{"events":null}`, "body: events_path $.events: not found"},
		{`{"events":[` + strings.Repeat(`{},`, MaxItems) + `{}]}`, "body: more than 10000 events"},
	}
	for _, tc := range tests {
		_, _, err := social.Map([]byte(tc.body), receivedAt, "dev")
		if err == nil || err.Error() != tc.err {
			t.Errorf("%.40q: got %v, want %s", tc.body, err, tc.err)
		}
	}
	// An empty list is fine: nothing to do.
	evs, dead, err := social.Map([]byte("\xef\xbb\xbf{\"events\":[]}"), receivedAt, "dev")
	if err != nil || len(evs)+len(dead) != 0 {
		t.Errorf("empty list: %v %v %v", evs, dead, err)
	}
}

func TestMessageIDStableAcrossRedelivery(t *testing.T) {
	t.Parallel()
	chat, _ := shipped(t).Mapping("generic-chat")
	// No "id": the message id is hashed from the source and the item.
	first := `{"topic":"csat.rated","created_at":1795170400,"data":{"conversation":{"id":"c1"},"contact":{"id":"ct"},"rating":{"score":4}}}`
	again := "{ \"data\": {\"rating\": {\"score\": 4}, \"contact\": {\"id\": \"ct\"}, \"conversation\": {\"id\": \"c1\"}},\n  \"created_at\": 1795170400, \"topic\": \"csat.rated\" }"
	other := `{"topic":"csat.rated","created_at":1795170400,"data":{"conversation":{"id":"c1"},"contact":{"id":"ct"},"rating":{"score":5}}}`
	id := func(body string) string {
		t.Helper()
		evs, dead, err := chat.Map([]byte(body), receivedAt.Add(time.Hour), "dev")
		if err != nil || len(evs) != 1 {
			t.Fatalf("map: %v %+v %v", evs, dead, err)
		}
		return evs[0].MessageID
	}
	a, b, c := id(first), id(again), id(other)
	if a != b {
		t.Errorf("redelivery changed the id: %s, %s", a, b)
	}
	if a == c {
		t.Errorf("different items share id %s", a)
	}
	if !strings.HasPrefix(a, "generic-chat:") || len(a) != len("generic-chat:")+32 {
		t.Errorf("id %s", a)
	}
	// The same item through another source gets another id.
	m := testMapping(t, `{"source":"other","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.data.contact.id"}}]}`)
	evs, _, _ := m.Map([]byte(first), receivedAt, "dev")
	if len(evs) != 1 || evs[0].MessageID == a || strings.TrimPrefix(evs[0].MessageID, "other:") == strings.TrimPrefix(a, "generic-chat:") {
		t.Errorf("other source: %+v (chat id %s)", evs, a)
	}
	// An id in the payload wins, namespaced by the source.
	withID := `{"id":12345678901234567890,"topic":"nps.rated","data":{"contact":{"id":"ct"},"rating":{"score":10}}}`
	if got := id(withID); got != "generic-chat:12345678901234567890" {
		t.Errorf("payload id: %s", got)
	}
}

func TestFieldConversions(t *testing.T) {
	t.Parallel()
	// One rule; fields vary per case. The item is the body ("$").
	mk := func(fields string) *Mapping {
		return testMapping(t, `{"source":"s","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":`+fields+`}]}`)
	}
	tests := []struct {
		name, fields, item string
		check              func(pipeline.Event) bool
		err                string
	}{
		{"rfc3339 zone", `{"visitor_id":"$.v","timestamp":"$.t"}`, `{"v":"x","t":"2026-11-20T10:00:00.123456+02:00"}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(at("2026-11-20T08:00:00.123Z")) }, ""},
		{"rfc3339 no zone, space", `{"visitor_id":"$.v","timestamp":"$.t"}`, `{"v":"x","t":"2026-11-20 10:00:00"}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(at("2026-11-20T10:00:00Z")) }, ""},
		{"rfc3339 number", `{"visitor_id":"$.v","timestamp":"$.t"}`, `{"v":"x","t":1795169700}`,
			nil, `rules[0] "E": timestamp: $.t: must be an RFC 3339 string, got 1795169700`},
		{"unix", `{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"unix"}}`, `{"v":"x","t":1795169700.1239}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(at("2026-11-20T10:15:00.123Z")) }, ""},
		{"unix string", `{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"unix"}}`, `{"v":"x","t":"1795169700"}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(at("2026-11-20T10:15:00Z")) }, ""},
		{"unix exponent", `{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"unix"}}`, `{"v":"x","t":1.7951697e9}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(at("2026-11-20T10:15:00Z")) }, ""},
		{"unix_ms", `{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"unix_ms"}}`, `{"v":"x","t":1795169700042}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(at("2026-11-20T10:15:00.042Z")) }, ""},
		{"unix out of range", `{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"unix"}}`, `{"v":"x","t":1e300}`,
			nil, `rules[0] "E": timestamp: $.t: 1e300 is out of range (as seconds since the epoch)`},
		{"unix not a number", `{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"unix_ms"}}`, `{"v":"x","t":"soon"}`,
			nil, `rules[0] "E": timestamp: $.t: must be a number of milliseconds since the epoch, got "soon"`},
		{"rfc3339 out of range", `{"visitor_id":"$.v","timestamp":"$.t"}`, `{"v":"x","t":"1800-01-01T00:00:00Z"}`,
			nil, `rules[0] "E": timestamp: $.t: 1800-01-01T00:00:00Z is out of range`},
		{"no timestamp: received", `{"visitor_id":"$.v","timestamp":"$.t"}`, `{"v":"x"}`,
			func(e pipeline.Event) bool { return e.EventTime.Equal(receivedAt) }, ""},
		{"visitor falls back to user", `{"visitor_id":"$.v","user_id":"$.u"}`, `{"v":"","u":"user-1"}`,
			func(e pipeline.Event) bool { return e.VisitorID == "user-1" && e.UserID == "user-1" }, ""},
		{"first present path", `{"visitor_id":["$.a","$.b[1]","$.c"]}`, `{"a":null,"b":["x","second"],"c":"third"}`,
			func(e pipeline.Event) bool { return e.VisitorID == "second" }, ""},
		{"last index, quoted key", `{"visitor_id":"$.list[-1]['dotted.key']"}`, `{"list":[{},{"dotted.key":"k"}]}`,
			func(e pipeline.Event) bool { return e.VisitorID == "k" }, ""},
		{"numeric id kept as written", `{"visitor_id":"$.v"}`, `{"v":123456789012345678901234567890}`,
			func(e pipeline.Event) bool { return e.VisitorID == "123456789012345678901234567890" }, ""},
		{"literals", `{"visitor_id":"$.v","utm_medium":"social","properties":{"dollar":"$$5","n":3,"ok":true,"o":{"value":{"a":[1]}}}}`, `{"v":"x"}`,
			func(e pipeline.Event) bool {
				return e.UTMMedium == "social" && string(e.Properties) == `{"dollar":"$5","n":3,"o":{"a":[1]},"ok":true}`
			}, ""},
		{"revenue and currency", `{"visitor_id":"$.v","revenue":"$.r","currency":"$.c","order_id":"$.o"}`, `{"v":"x","r":"19.90","c":" eur ","o":77}`,
			func(e pipeline.Event) bool { return e.Revenue == 19.9 && e.Currency == "EUR" && e.OrderID == "77" }, ""},
		{"revenue not a number", `{"visitor_id":"$.v","revenue":"$.r"}`, `{"v":"x","r":"lots"}`,
			nil, `rules[0] "E": revenue: $.r: must be a number, got "lots"`},
		{"typed properties", `{"visitor_id":"$.v","properties":{"s":{"path":"$.n","type":"string"},"i":{"path":"$.is","type":"integer"},"f":{"path":"$.f","type":"number"},"b":{"path":"$.b","type":"boolean"},"whole":"$.obj"}}`,
			`{"v":"x","n":42,"is":"7","f":"0.5","b":"true","obj":{"k":[1,"2"]}}`,
			func(e pipeline.Event) bool {
				return string(e.Properties) == `{"b":true,"f":0.5,"i":7,"s":"42","whole":{"k":[1,"2"]}}`
			}, ""},
		{"integer with fraction", `{"visitor_id":"$.v","properties":{"score":{"path":"$.s","type":"integer"}}}`, `{"v":"x","s":4.5}`,
			nil, `rules[0] "E": properties.score: $.s: must be an integer, got 4.5`},
		{"above max", `{"visitor_id":"$.v","properties":{"score":{"path":"$.s","type":"integer","min":1,"max":5}}}`, `{"v":"x","s":6}`,
			nil, `rules[0] "E": properties.score: $.s: 6 is above the maximum 5`},
		{"required missing", `{"visitor_id":"$.v","properties":{"score":{"path":["$.s","$.t"],"required":true}}}`, `{"v":"x"}`,
			nil, `rules[0] "E": properties.score: required, not found at $.s, $.t`},
		{"boolean wrong", `{"visitor_id":"$.v","properties":{"b":{"path":"$.b","type":"boolean"}}}`, `{"v":"x","b":1}`,
			nil, `rules[0] "E": properties.b: $.b: must be true or false, got 1`},
		{"string wrong", `{"visitor_id":"$.v","properties":{"s":{"path":"$.s","type":"string"}}}`, `{"v":"x","s":[1]}`,
			nil, `rules[0] "E": properties.s: $.s: must be a string, got array`},
		{"optional missing left out", `{"visitor_id":"$.v","properties":{"a":"$.a","b":"$.b"}}`, `{"v":"x","b":false}`,
			func(e pipeline.Event) bool { return string(e.Properties) == `{"b":false}` }, ""},
		{"page url gives path", `{"visitor_id":"$.v","page_url":"$.u"}`, `{"v":"x","u":"https://shop.example/a/b?c=d"}`,
			func(e pipeline.Event) bool { return e.PagePath == "/a/b" }, ""},
		{"properties too large", `{"visitor_id":"$.v","properties":{"big":"$.big"}}`, `{"v":"x","big":"` + strings.Repeat("x", MaxPropertiesBytes) + `"}`,
			nil, `rules[0] "E": properties: larger than 32768 bytes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, dead, err := mk(tc.fields).Map([]byte(tc.item), receivedAt, "k")
			if err != nil {
				t.Fatal(err)
			}
			if tc.err != "" {
				if len(dead) != 1 || dead[0].Error != tc.err {
					t.Fatalf("got %+v %+v, want dead letter %q", evs, dead, tc.err)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("got %+v %+v", evs, dead)
			}
			if !tc.check(evs[0]) {
				t.Errorf("event %s", dump(evs))
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	t.Parallel()
	m := testMapping(t, `{
		"source": "s", "events_path": "$.items[*].events",
		"defaults": {"touchpoint": "social", "fields": {"visitor_id": "$.v"}},
		"rules": [
			{"when": [{"path": "kind", "equals": "msg"}, {"path": "$.from.bot", "exists": false}], "event": "Human"},
			{"when": {"path": "kind", "equals": "msg"}, "event": "Bot"},
			{"when": {"path": "n", "in": [1, 2.0, "three"]}, "event": "In", "touchpoint": "chat"},
			{"when": {"path": "tags", "equals": ["a", {"b": 1}]}, "event": "Deep"},
			{"when": {"path": "flag", "equals": true}, "event": "Flag"},
			{"when": {"path": "$.x", "exists": true}, "event": "HasX"}
		]}`)
	body := `{"items":[
		{"events":[{"v":"1","kind":"msg"},{"v":"2","kind":"msg","from":{"bot":true}}]},
		{"events":{"v":"3","n":2}},
		{"events":[{"v":"4","n":"three"},{"v":"5","n":3},{"v":"6","tags":["a",{"b":1.0}]}]},
		{"none":[]},
		{"events":[{"v":"7","flag":"true"},{"v":"8","flag":true},{"v":"9","x":0},{"v":"10","x":null}]}
	]}`
	evs, dead, err := m.Map([]byte(body), receivedAt, "k")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.VisitorID+"="+e.EventName+"/"+e.Touchpoint)
	}
	want := "1=Human/social 2=Bot/social 3=In/chat 4=In/chat 6=Deep/social 8=Flag/social 9=HasX/social"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	var idx []int
	for _, d := range dead {
		idx = append(idx, d.Index)
	}
	// Indexes count the flattened items: 5 is {"v":"5"}, 7 {"v":"7"}, 10 {"v":"10"}.
	if len(idx) != 3 || idx[0] != 4 || idx[1] != 6 || idx[2] != 9 {
		t.Errorf("dead letter indexes %v", idx)
	}
	// A wildcard that selects nothing is an empty body, not an error.
	if evs, dead, err := m.Map([]byte(`{"items":[]}`), receivedAt, "k"); err != nil || len(evs)+len(dead) > 0 {
		t.Errorf("empty: %v %v %v", evs, dead, err)
	}
}

func TestDefaultsOverride(t *testing.T) {
	t.Parallel()
	m := testMapping(t, `{
		"source": "s", "events_path": "$",
		"defaults": {"touchpoint": "chat", "fields": {"visitor_id": "$.v", "user_id": "$.u", "properties": {"a": "$.a", "b": "$.b"}}},
		"rules": [{"event": "E", "fields": {"user_id": null, "properties": {"a": null, "b": "$.c", "d": "$.d"}}}]}`)
	evs, _, _ := m.Map([]byte(`{"v":"x","u":"user","a":1,"b":2,"c":3,"d":4}`), receivedAt, "k")
	if len(evs) != 1 || evs[0].UserID != "" || string(evs[0].Properties) != `{"b":3,"d":4}` {
		t.Errorf("got %s", dump(evs))
	}
}

// TestReadmeExample loads the worked example of schemas/README.md and maps
// its payload, so that the documentation stays true.
func TestReadmeExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../schemas/README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(marker string) []byte {
		t.Helper()
		_, rest, ok := strings.Cut(string(b), "<!-- webhook-example:"+marker+" -->\n```json\n")
		if !ok {
			t.Fatalf("README has no %s example", marker)
		}
		text, _, _ := strings.Cut(rest, "```")
		return []byte(text)
	}
	m, err := parseMapping("README.md", block("mapping"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	evs, dead, err := m.Map(block("payload"), receivedAt, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("events:\n%s", dump(evs))
	}
	if id := evs[1].MessageID; !strings.HasPrefix(id, "pagefeed:") || len(id) != len("pagefeed:")+32 {
		t.Errorf("generated id %s", id)
	}
	sameEvents(t, evs, expand("pagefeed",
		pipeline.Event{
			MessageID: "pagefeed:777_1", EventTime: at("2026-11-20T10:15:00Z"),
			EventName: "Social Comment", Touchpoint: "social", VisitorID: "555", UTMSource: "facebook", UTMMedium: "social",
			Properties: props(`{"comment_id":"777_1","post_id":"1234567890_777","text":"Nice!"}`),
		},
		pipeline.Event{
			MessageID: evs[1].MessageID, EventTime: at("2026-11-20T10:15:10Z"),
			EventName: "Social Like", Touchpoint: "social", VisitorID: "556", UTMSource: "facebook", UTMMedium: "social",
			Properties: props(`{"post_id":"1234567890_777","reaction":"love"}`),
		},
	))
	if len(dead) != 1 || dead[0].Index != 2 || dead[0].Error != "no mapping rule matched" {
		t.Errorf("dead letters %+v", dead)
	}
}
