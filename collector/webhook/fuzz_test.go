package webhook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMap runs arbitrary bodies through the shipped mappings and one that
// uses every kind of path and conversion: no panic, every item either an
// event with the fields the pipeline relies on or a dead letter with a
// reason, and the same body always maps to the same message ids.
func FuzzMap(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
	}
	for _, seed := range []string{
		`{"events":[{"type":"comment","actor":{"id":1e400},"created_at":"2026-13-45T99:00:00Z"}]}`,
		`{"events":[{"type":"follow","actor":{"id":"a"},"account":{"followers_count":"1e308"}},1,null,"x",[]]}`,
		`{"topic":"csat.rated","created_at":"1e999999999","data":{"conversation":{"id":7},"contact":{"id":"c"},"rating":{"score":"5"}}}`,
		`{"topic":"nps.rated","created_at":-99999999999999999999,"data":{"contact":{"anonymous_id":""},"rating":{"score":10.0}}}`,
		`{"items":[{"events":[{"v":"1","t":"0.0000000000000000000000000000000000000001"}]},{"events":{"v":{"x":1}}}]}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		`{"events":{}}`,
		``,
		`nul`,
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(1))
		f.Add([]byte(seed), uint8(2))
	}
	reg := shipped(f)
	social, _ := reg.Mapping("generic-social")
	chat, _ := reg.Mapping("generic-chat")
	custom := testMapping(f, `{
		"source": "fuzz", "events_path": "$.items[*].events",
		"defaults": {"touchpoint": "web", "fields": {
			"visitor_id": ["$.v", "$.w[0]", "$['x.y'][-1]"], "user_id": "$.u",
			"timestamp": {"path": "$.t", "format": "unix_ms"}, "revenue": "$.r", "currency": "$.c", "page_url": "$.p",
			"properties": {"i": {"path": "$.i", "type": "integer", "min": -5, "max": 5}, "b": {"path": "$.b", "type": "boolean"},
				"s": {"path": "$.s", "type": "string"}, "n": {"path": "$.n", "type": "number"}, "any": "$.any"}}},
		"rules": [
			{"when": [{"path": "k", "in": [1, "1", true, null, {"a": [1]}]}], "event": "K"},
			{"when": {"path": "t", "exists": false}, "event": "NoTime", "fields": {"timestamp": {"path": "$.ts", "format": "unix"}}},
			{"event": "Rest", "fields": {"timestamp": "$.iso", "message_id": "$.id"}}
		]}`)
	mappings := []*Mapping{social, chat, custom}

	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		m := mappings[int(which)%len(mappings)]
		evs, dead, err := m.Map(body, receivedAt, "dev")
		if err != nil {
			if evs != nil || dead != nil {
				t.Fatal("events with an error")
			}
			if !strings.HasPrefix(err.Error(), "body: ") {
				t.Fatalf("body error %q", err)
			}
			return
		}
		root, _ := decodeBody(body)
		items, _ := m.items(root)
		if len(evs)+len(dead) != len(items) {
			t.Fatalf("%d items gave %d events and %d dead letters", len(items), len(evs), len(dead))
		}
		for _, ev := range evs {
			if ev.VisitorID == "" || ev.EventName == "" || ev.Touchpoint == "" || !strings.HasPrefix(ev.MessageID, m.source+":") {
				t.Fatalf("incomplete event %+v", ev)
			}
			if ev.EventTime.Before(minTime) || ev.EventTime.After(maxTime) || ev.EventTime.Location().String() != "UTC" {
				t.Fatalf("event time %v", ev.EventTime)
			}
			if ev.Properties != nil && (!json.Valid(ev.Properties) || !isObject(ev.Properties)) {
				t.Fatalf("properties %s", ev.Properties)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("encode event: %v", err)
			}
		}
		last := -1
		for _, d := range dead {
			if d.Error == "" || d.Index <= last || d.Index >= len(items) || (d.Payload != nil && !json.Valid(d.Payload)) {
				t.Fatalf("dead letter %+v", d)
			}
			last = d.Index
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("encode dead letter: %v", err)
			}
		}
		again, _, _ := m.Map(body, receivedAt, "dev")
		for i := range evs {
			if again[i].MessageID != evs[i].MessageID {
				t.Fatalf("message id changed: %s, %s", evs[i].MessageID, again[i].MessageID)
			}
		}
	})
}

// FuzzParseMapping runs arbitrary mapping files through the loader: no
// panic, and an error or a mapping that maps an empty object.
func FuzzParseMapping(f *testing.F) {
	for _, name := range []string{"generic-social.json", "generic-chat.json"} {
		b, err := os.ReadFile(filepath.Join(examplesDir, "..", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"source":"x","events_path":"$['a'][*][-1]","rules":[{"when":[{"path":"a['","in":[1]}],"event":"E","touchpoint":"chat","fields":{"visitor_id":["$.v",""],"properties":{"":1,"p":{"path":"$[0]","type":"integer","min":1e999}}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMapping("f.json", b, func(string) string { return "secret" })
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		_, _, _ = m.Map([]byte(`{}`), receivedAt, "dev")
		_, _, _ = m.Map([]byte(`[{}]`), receivedAt, "dev")
	})
}
