package collector

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

var testReceivedAt = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		typ   string // endpoint type; "" for a batch event
		batch string // batch context, JSON
		in    string
		check func(t *testing.T, ev pipeline.Event)
	}{
		{
			name: "track with commerce properties",
			in: `{"type":"track","event":"Order Completed","messageId":"m1","anonymousId":"a1","userId":"u1",
				"properties":{"revenue":"19.90","total":25,"currency":"eur","order_id":1234,"cart_id":"c9","engagement_time_msec":1500.7},
				"timestamp":"2026-11-20T10:00:00.123Z"}`,
			check: func(t *testing.T, ev pipeline.Event) {
				want := pipeline.Event{MessageID: "m1", Type: "track", EventName: "Order Completed", VisitorID: "a1", UserID: "u1",
					Revenue: 19.9, Currency: "EUR", OrderID: "1234", CartID: "c9", EngagementMS: 1500, Touchpoint: "web",
					EventTime: time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC)}
				compare(t, ev, want)
			},
		},
		{
			name: "revenue falls back to total",
			in:   `{"type":"track","event":"Order Completed","anonymousId":"a","properties":{"total":42.5,"orderId":"o-1","cartId":"c-1"}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "track", EventName: "Order Completed", VisitorID: "a", Revenue: 42.5, OrderID: "o-1", CartID: "c-1", Touchpoint: "web"})
			},
		},
		{
			name: "page from properties, campaign from context",
			typ:  pipeline.TypePage,
			in: `{"name":"Home","anonymousId":"a","properties":{"url":"https://shop.test/p?x=1","path":"/p","referrer":"https://google.com/"},
				"context":{"page":{"url":"https://other.test/","path":"/other","referrer":"r"},"campaign":{"source":"news","medium":"email","name":"bf26","term":"t"},
				"library":{"name":"analytics.js"},"device":{"type":"mobile"},"os":{"name":"iOS"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "page", EventName: "Home", VisitorID: "a", PageURL: "https://shop.test/p?x=1", PagePath: "/p",
					Referrer: "https://google.com/", UTMSource: "news", UTMMedium: "email", UTMCampaign: "bf26", LibraryName: "analytics.js",
					DeviceType: "mobile", OS: "iOS", Touchpoint: "web"})
			},
		},
		{
			name: "device, browser and os from context.userAgent",
			typ:  pipeline.TypePage,
			in: `{"anonymousId":"a","context":{"library":{"name":"analytics.js"},
				"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "page", VisitorID: "a", LibraryName: "analytics.js", Touchpoint: "web",
					DeviceType: "mobile", Browser: "Safari", OS: "iOS"})
			},
		},
		{
			name:  "what the event says wins over its user agent; the batch's user agent",
			batch: `{"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}`,
			in:    `{"type":"track","event":"E","anonymousId":"a","context":{"device":{"type":"tablet"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "track", EventName: "E", VisitorID: "a", Touchpoint: "web",
					DeviceType: "tablet", Browser: "Chrome", OS: "Windows"})
			},
		},
		{
			name: "a mobile library's platform as the device category",
			in: `{"type":"track","event":"E","anonymousId":"a","context":{"library":{"name":"analytics-ios"},
				"device":{"type":"ios","model":"iPad13,4"},"os":{"name":"iPadOS"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "track", EventName: "E", VisitorID: "a", Touchpoint: "app",
					LibraryName: "analytics-ios", DeviceType: "tablet", OS: "iPadOS"})
			},
		},
		{
			name: "android",
			in: `{"type":"track","event":"E","anonymousId":"a","context":{"library":{"name":"analytics-kotlin"},
				"device":{"type":"android","model":"Pixel 8"},"os":{"name":"Android"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "track", EventName: "E", VisitorID: "a", Touchpoint: "app",
					LibraryName: "analytics-kotlin", DeviceType: "mobile", OS: "Android"})
			},
		},
		{
			name: "a user agent that is not a string is ignored",
			in:   `{"type":"track","event":"E","anonymousId":"a","context":{"userAgent":{"brands":[]}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "track", EventName: "E", VisitorID: "a", Touchpoint: "web"})
			},
		},
		{
			name: "page from context.page; path and utm from the url",
			typ:  pipeline.TypePage,
			in:   `{"anonymousId":"a","context":{"page":{"url":"https://shop.test/deals/x?utm_source=fb&utm_medium=cpc&utm_campaign=spring","referrer":"https://fb.com/"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "page", VisitorID: "a", PageURL: "https://shop.test/deals/x?utm_source=fb&utm_medium=cpc&utm_campaign=spring",
					PagePath: "/deals/x", Referrer: "https://fb.com/", UTMSource: "fb", UTMMedium: "cpc", UTMCampaign: "spring", Touchpoint: "web"})
			},
		},
		{
			name: "screen from a mobile SDK is app",
			in:   `{"type":"screen","name":"Cart","userId":42,"context":{"library":{"name":"analytics-ios"},"os":{"name":"iOS"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "screen", EventName: "Cart", VisitorID: "42", UserID: "42", LibraryName: "analytics-ios", OS: "iOS", Touchpoint: "app"})
			},
		},
		{
			name: "server SDK is server",
			in:   `{"type":"track","event":"Refund","userId":"u","context":{"library":{"name":"analytics-python"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if ev.Touchpoint != "server" {
					t.Errorf("touchpoint %q, want server", ev.Touchpoint)
				}
			},
		},
		{
			name: "explicit touchpoint wins over the library",
			in:   `{"type":"track","event":"Email Opened","userId":"u","properties":{"touchpoint":"Email"},"context":{"touchpoint":"sms","library":{"name":"analytics-node"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if ev.Touchpoint != "email" {
					t.Errorf("touchpoint %q, want email", ev.Touchpoint)
				}
			},
		},
		{
			name: "context touchpoint",
			in:   `{"type":"track","event":"Message Sent","userId":"u","context":{"touchpoint":"chat"}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if ev.Touchpoint != "chat" {
					t.Errorf("touchpoint %q, want chat", ev.Touchpoint)
				}
			},
		},
		{
			name: "identify keeps traits as properties",
			typ:  pipeline.TypeIdentify,
			in:   `{"anonymousId":"a","userId":"u","traits":{"email":"x@y.z","total":5}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if string(ev.Properties) != `{"email":"x@y.z","total":5}` || ev.Revenue != 0 {
					t.Errorf("properties %s revenue %v", ev.Properties, ev.Revenue)
				}
			},
		},
		{
			name:  "batch context underneath; the event's own keys win",
			batch: `{"library":{"name":"analytics-android"},"campaign":{"source":"batch"},"device":{"type":"tablet"}}`,
			in:    `{"type":"track","event":"E","anonymousId":"a","context":{"campaign":{"medium":"own"}}}`,
			check: func(t *testing.T, ev pipeline.Event) {
				compare(t, ev, pipeline.Event{Type: "track", EventName: "E", VisitorID: "a", LibraryName: "analytics-android",
					Touchpoint: "app", UTMMedium: "own", DeviceType: "tablet"})
			},
		},
		{
			name: "missing messageId gets a UUID; no time gets receivedAt",
			in:   `{"type":"track","event":"E","anonymousId":"a"}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if len(ev.MessageID) != 36 || strings.Count(ev.MessageID, "-") != 4 {
					t.Errorf("message id %q is not a UUID", ev.MessageID)
				}
				if !ev.EventTime.Equal(testReceivedAt) || !ev.ReceivedAt.Equal(testReceivedAt) {
					t.Errorf("event time %s, received %s; want both %s", ev.EventTime, ev.ReceivedAt, testReceivedAt)
				}
			},
		},
		{
			name: "type is case-insensitive",
			in:   `{"type":"Track","event":"E","anonymousId":"a"}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if ev.Type != "track" {
					t.Errorf("type %q", ev.Type)
				}
			},
		},
		{
			name: "the endpoint's type wins over the body's",
			typ:  pipeline.TypePage,
			in:   `{"type":"track","anonymousId":"a"}`,
			check: func(t *testing.T, ev pipeline.Event) {
				if ev.Type != "page" {
					t.Errorf("type %q", ev.Type)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := batchMeta{typ: tt.typ, receivedAt: testReceivedAt, writeKey: "k"}
			if tt.batch != "" {
				if err := json.Unmarshal([]byte(tt.batch), &m.context); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := normalize(json.RawMessage(tt.in), &m)
			if err != nil {
				t.Fatalf("refused: %s (%s)", err.msg, err.reason)
			}
			if ev.WriteKey != "k" {
				t.Errorf("write key %q", ev.WriteKey)
			}
			tt.check(t, ev)
		})
	}
}

// compare checks the fields the table cares about: those set in want, and
// that the derived columns not set in want stay empty.
func compare(t *testing.T, got, want pipeline.Event) {
	t.Helper()
	if want.MessageID == "" {
		want.MessageID = got.MessageID
	}
	if want.EventTime.IsZero() {
		want.EventTime = got.EventTime
	}
	want.ReceivedAt, want.WriteKey, want.Properties = got.ReceivedAt, got.WriteKey, got.Properties
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("got  %s\nwant %s", g, w)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct {
		name, typ, in, reason, msg string
	}{
		{"not an object", "", `[1]`, reasonMalformed, "event: must be a JSON object"},
		{"no type", "", `{"event":"E","anonymousId":"a"}`, reasonType, "type: required"},
		{"unknown type", "", `{"type":"purchase","anonymousId":"a"}`, reasonType, `"purchase" is not one of`},
		{"no ids", "", `{"type":"track","event":"E"}`, reasonMissingID, "anonymousId or userId is required"},
		{"empty ids", "", `{"type":"track","event":"E","anonymousId":"","userId":null}`, reasonMissingID, "anonymousId or userId"},
		{"object id", "", `{"type":"track","event":"E","anonymousId":{"a":1}}`, reasonMalformed, "anonymousId: must be a string"},
		{"track without event", "", `{"type":"track","anonymousId":"a"}`, reasonMissingEvent, "event: required"},
		{"event not a string", pipeline.TypeTrack, `{"event":5,"anonymousId":"a"}`, reasonMalformed, "event: must be a string"},
		{"properties not an object", "", `{"type":"track","event":"E","anonymousId":"a","properties":[1]}`, reasonMalformed, "properties: must be an object"},
		{"traits not an object", pipeline.TypeIdentify, `{"userId":"u","traits":"x"}`, reasonMalformed, "traits: must be an object"},
		{"context not an object", "", `{"type":"page","anonymousId":"a","context":"x"}`, reasonMalformed, "context: must be an object"},
		{"bad timestamp", "", `{"type":"page","anonymousId":"a","timestamp":"yesterday"}`, reasonTime, "timestamp:"},
		{"numeric timestamp", "", `{"type":"page","anonymousId":"a","timestamp":1700000000}`, reasonTime, "must be an ISO 8601 string"},
		{"timestamp out of range", "", `{"type":"page","anonymousId":"a","timestamp":"1800-01-01T00:00:00Z"}`, reasonTime, "out of range"},
		{"bad sentAt", "", `{"type":"page","anonymousId":"a","originalTimestamp":"2026-11-20T10:00:00Z","sentAt":"soon"}`, reasonTime, "sentAt:"},
		{"unknown touchpoint", "", `{"type":"page","anonymousId":"a","properties":{"touchpoint":"kiosk"}}`, reasonField, "properties.touchpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := batchMeta{typ: tt.typ, receivedAt: testReceivedAt}
			_, err := normalize(json.RawMessage(tt.in), &m)
			if err == nil {
				t.Fatal("accepted")
			}
			if err.reason != tt.reason || !strings.Contains(err.msg, tt.msg) {
				t.Errorf("got %s: %q, want %s: %q", err.reason, err.msg, tt.reason, tt.msg)
			}
		})
	}
}

func TestEventTime(t *testing.T) {
	tests := []struct {
		name, event, batchSentAt string
		want                     time.Time
	}{
		{"timestamp as sent", `{"timestamp":"2026-11-20T09:00:00.5+01:00","originalTimestamp":"2020-01-01T00:00:00Z","sentAt":"2020-01-01T00:00:00Z"}`, "",
			time.Date(2026, 11, 20, 8, 0, 0, 5e8, time.UTC)},
		// The device's clock is 1 h 30 s behind: it sent 2 s after the event.
		{"skew corrected with the event's sentAt", `{"originalTimestamp":"2026-11-20T10:29:28.250Z","sentAt":"2026-11-20T10:29:30.000Z"}`, "",
			testReceivedAt.Add(-1750 * time.Millisecond)},
		{"skew corrected with the batch's sentAt", `{"originalTimestamp":"2026-11-20T13:00:00Z"}`, "2026-11-20T13:00:07.001Z",
			testReceivedAt.Add(-7001 * time.Millisecond)},
		{"the event's sentAt wins", `{"originalTimestamp":"2026-11-20T13:00:00Z","sentAt":"2026-11-20T13:00:01Z"}`, "2026-11-20T13:00:07Z",
			testReceivedAt.Add(-time.Second)},
		{"originalTimestamp without sentAt", `{"originalTimestamp":"2026-11-20T10:00:00.999999Z"}`, "",
			time.Date(2026, 11, 20, 10, 0, 0, 999e6, time.UTC)},
		{"zone without colon", `{"timestamp":"2026-11-20T10:00:00.000+0000"}`, "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
		{"no zone is UTC", `{"timestamp":"2026-11-20T10:00:00"}`, "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
		{"space separator", `{"timestamp":"2026-11-20 10:00:00Z"}`, "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
		{"nothing: receivedAt", `{}`, "", testReceivedAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rawEvent
			if err := json.Unmarshal([]byte(tt.event), &r); err != nil {
				t.Fatal(err)
			}
			m := batchMeta{receivedAt: testReceivedAt}
			if tt.batchSentAt != "" {
				m.sentAt = json.RawMessage(`"` + tt.batchSentAt + `"`)
			}
			got, err := eventTime(&r, &m)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("got %s, want %s", got.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
		})
	}
}

func TestDecodeSegment(t *testing.T) {
	req, err := decodeSegment([]byte("\xef\xbb\xbf"+`{"batch":[{"type":"track"},{"type":"page"}],"context":{"library":{"name":"x"}},"sentAt":"2026-11-20T10:00:00Z","writeKey":"k"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(req.events) != 2 || req.writeKey != "k" || string(req.context.Library) != `{"name":"x"}` || string(req.sentAt) != `"2026-11-20T10:00:00Z"` {
		t.Errorf("got %+v", req)
	}
	for _, tt := range []struct{ body, typ, msg string }{
		{``, "", "body: empty"},
		{`   `, pipeline.TypeTrack, "body: empty"},
		{`nope`, "", "body: must be a JSON object"},
		{`[{"type":"track"}]`, "", "body: must be a JSON object"},
		{`{"batch":[`, "", "body: invalid JSON"},
		{`{"event":"E"`, pipeline.TypeTrack, "body: invalid JSON"},
		{`{}`, "", "batch: required"},
		{`{"batch":null}`, "", "batch: required"},
		{`{"batch":{"type":"track"}}`, "", "batch: must be an array"},
		{`{"batch":[],"context":[1]}`, "", "context: must be an object"},
	} {
		if _, err := decodeSegment([]byte(tt.body), tt.typ); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("decode %q: got %v, want %q", tt.body, err, tt.msg)
		}
	}
}

// TestNormalizeClickID checks the click id normalize takes: the first
// known parameter of context.campaign (as t.js sends it), else of the page
// URL's query, with the batch's context underneath as for the other
// context keys.
func TestNormalizeClickID(t *testing.T) {
	const site = "https://shop.test"
	tests := []struct {
		name     string
		typ      string // endpoint type; "" for a batch event
		batch    string // batch context, JSON
		in       string
		wantType string
		wantID   string
	}{
		{name: "none", in: `{"type":"page","anonymousId":"a","context":{"page":{"url":"` + site + `/?utm_source=x"}}}`},
		{name: "gclid in context.campaign, as t.js sends it",
			in:       `{"type":"track","event":"E","anonymousId":"a","context":{"campaign":{"source":"google","gclid":"Cj0KCQiA-abc_DEF"},"page":{"url":"` + site + `/cart"}}}`,
			wantType: "gclid", wantID: "Cj0KCQiA-abc_DEF"},
		{name: "campaign wins over the page URL",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"fbclid":"FB-1"},"page":{"url":"` + site + `/?gclid=G-1"}}}`,
			wantType: "fbclid", wantID: "FB-1"},
		{name: "precedence inside the campaign, not member order",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"fbclid":"F","msclkid":"M","gbraid":"B"}}}`,
			wantType: "gbraid", wantID: "B"},
		{name: "page URL of context.page",
			in:       `{"type":"page","anonymousId":"a","context":{"page":{"url":"` + site + `/p?utm_source=x&gclid=G-2&fbclid=F"}}}`,
			wantType: "gclid", wantID: "G-2"},
		{name: "page URL of properties.url in a page call",
			typ:      pipeline.TypePage,
			in:       `{"anonymousId":"a","properties":{"url":"` + site + `/p?msclkid=M-1"},"context":{"page":{"url":"` + site + `/other"}}}`,
			wantType: "msclkid", wantID: "M-1"},
		{name: "upper-case parameter in the URL: canonical type, value as sent",
			in:       `{"type":"page","anonymousId":"a","context":{"page":{"url":"` + site + `/?GCLID=AbC"}}}`,
			wantType: "gclid", wantID: "AbC"},
		{name: "parameter in the case Google sends it, value case kept",
			in:       `{"type":"page","anonymousId":"a","context":{"page":{"url":"` + site + `/?gclid=EAIaIQobChMI_aBc"}}}`,
			wantType: "gclid", wantID: "EAIaIQobChMI_aBc"},
		{name: "campaign member names matched without case",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"Gclid":"G-3"}}}`,
			wantType: "gclid", wantID: "G-3"},
		{name: "unknown parameters ignored",
			in: `{"type":"page","anonymousId":"a","context":{"campaign":{"gclsrc":"aw.ds","clid":"1"},"page":{"url":"` + site + `/?xclid=1&gclsrc=aw"}}}`},
		{name: "empty and blank values ignored, in the campaign and the URL",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"gclid":"","gbraid":"  "},"page":{"url":"` + site + `/?gclid=&wbraid=W-1"}}}`,
			wantType: "wbraid", wantID: "W-1"},
		{name: "non-string campaign values ignored; the URL is used",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"gclid":123,"fbclid":null},"page":{"url":"` + site + `/?ttclid=T"}}}`,
			wantType: "ttclid", wantID: "T"},
		{name: "value trimmed, escapes decoded",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"fbclid":" IwAR\u0031x "}}}`,
			wantType: "fbclid", wantID: "IwAR1x"},
		{name: "last of duplicate members wins, as encoding/json",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":{"gclid":"first","gclid":""},"page":{"url":"` + site + `/?li_fat_id=L"}}}`,
			wantType: "li_fat_id", wantID: "L"},
		{name: "batch context's campaign underneath",
			batch:    `{"campaign":{"gclid":"BATCH"}}`,
			in:       `{"type":"track","event":"E","anonymousId":"a"}`,
			wantType: "gclid", wantID: "BATCH"},
		{name: "the event's own campaign wins whole over the batch's",
			batch:    `{"campaign":{"gclid":"BATCH"}}`,
			in:       `{"type":"track","event":"E","anonymousId":"a","context":{"campaign":{"source":"s"},"page":{"url":"` + site + `/?yclid=Y"}}}`,
			wantType: "yclid", wantID: "Y"},
		{name: "campaign of the wrong shape ignored",
			in:       `{"type":"page","anonymousId":"a","context":{"campaign":"gclid=x","page":{"url":"` + site + `/?dclid=D"}}}`,
			wantType: "dclid", wantID: "D"},
		{name: "fragment is not the query",
			in: `{"type":"page","anonymousId":"a","context":{"page":{"url":"` + site + `/#gclid=G"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := batchMeta{typ: tt.typ, receivedAt: testReceivedAt, writeKey: "k"}
			if tt.batch != "" {
				if err := json.Unmarshal([]byte(tt.batch), &m.context); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := normalize(json.RawMessage(tt.in), &m)
			if err != nil {
				t.Fatalf("refused: %s (%s)", err.msg, err.reason)
			}
			if ev.ClickIDType != tt.wantType || ev.ClickID != tt.wantID {
				t.Errorf("click id %q = %q, want %q = %q", ev.ClickIDType, ev.ClickID, tt.wantType, tt.wantID)
			}
		})
	}
}
