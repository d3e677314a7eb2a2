package collector

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/touchstream/touchstream/pipeline"
)

// FuzzDecodeEquivalence checks that the collector's Segment decoding
// (tooDeep, decodeSegment, eventWriteKey, normalize) answers exactly as the
// encoding/json implementation it replaced (reference_test.go) on every
// body: the same request error, the same events, batch context, sentAt and
// write keys, and for each event the same pipeline.Event or the same
// refusal (reason and message). Only a messageId the collector makes up
// (a random UUID) is not compared.
func FuzzDecodeEquivalence(f *testing.F) {
	for _, s := range equivalenceSeeds() {
		f.Add([]byte(s), "")
		f.Add([]byte(s), pipeline.TypeTrack)
	}
	f.Fuzz(func(t *testing.T, body []byte, typ string) {
		if typ != "" && !eventTypes[typ] {
			typ = pipeline.TypePage
		}
		checkEquivalent(t, body, typ)
	})
}

func checkEquivalent(t *testing.T, body []byte, typ string) {
	t.Helper()
	for _, max := range []int{0, 1, 2, 3, MaxJSONDepth} {
		if got, want := tooDeep(body, max), refTooDeep(body, max); got != want {
			t.Fatalf("%q: tooDeep(%d) %v, want %v", body, max, got, want)
		}
	}
	want, werr := refDecodeSegment(body, typ)
	got, gerr := decodeSegment(body, typ)
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("%q (%q): decodeSegment error %v, want %v", body, typ, gerr, werr)
	}
	if werr != nil {
		return
	}
	if len(got.events) != len(want.events) {
		t.Fatalf("%q: %d events, want %d", body, len(got.events), len(want.events))
	}
	for i := range want.events {
		if !sameRaw(got.events[i], want.events[i]) {
			t.Fatalf("%q: event %d is %q, want %q", body, i, got.events[i], want.events[i])
		}
	}
	if got.writeKey != want.writeKey || !sameRaw(got.sentAt, want.sentAt) || !sameContext(got.context, want.context) {
		t.Fatalf("%q: request %+v, want %+v", body, got, want)
	}
	if g, w := got.eventWriteKey(), want.eventWriteKey(); g != w {
		t.Fatalf("%q: eventWriteKey %q, want %q", body, g, w)
	}
	gm := batchMeta{typ: typ, context: got.context, sentAt: got.sentAt, receivedAt: testReceivedAt, writeKey: "dev"}
	wm := refBatchMeta{typ: typ, context: want.context, sentAt: want.sentAt, receivedAt: testReceivedAt, writeKey: "dev"}
	for i := range want.events {
		wev, weerr := refNormalize(want.events[i], &wm)
		gev, geerr := normalize(got.events[i], &gm)
		if (weerr == nil) != (geerr == nil) || (weerr != nil && *weerr != *geerr) {
			t.Fatalf("%q: event %d refused %+v, want %+v", body, i, geerr, weerr)
		}
		if weerr != nil {
			continue
		}
		var r refRawEvent
		_ = json.Unmarshal(want.events[i], &r)
		if id, _ := refIdString(r.MessageID, ""); id == "" {
			if len(gev.MessageID) != 36 {
				t.Fatalf("%q: event %d: made-up messageId %q", body, i, gev.MessageID)
			}
			gev.MessageID = wev.MessageID
		}
		// The reference decoder predates click ids: they are checked here
		// for shape only, and by TestNormalizeClickID for content.
		if (gev.ClickIDType == "") != (gev.ClickID == "") ||
			(gev.ClickIDType != "" && pipeline.ClickIDRank(gev.ClickIDType) < 0) ||
			gev.ClickID != strings.TrimSpace(gev.ClickID) {
			t.Fatalf("%q: event %d: click id %q = %q", body, i, gev.ClickIDType, gev.ClickID)
		}
		gev.ClickIDType, gev.ClickID = "", ""
		if !reflect.DeepEqual(gev, wev) {
			t.Fatalf("%q: event %d:\ngot  %+v\nwant %+v", body, i, gev, wev)
		}
	}
}

// sameRaw reports whether a and b hold the same bytes and are both nil or
// both not (a nil json.RawMessage encodes as null, an empty one fails).
func sameRaw(a, b json.RawMessage) bool {
	return bytes.Equal(a, b) && (a == nil) == (b == nil)
}

func sameContext(a contextView, b refContextView) bool {
	return sameRaw(a.Page, b.Page) && sameRaw(a.Campaign, b.Campaign) && sameRaw(a.Library, b.Library) &&
		sameRaw(a.Device, b.Device) && sameRaw(a.OS, b.OS) && sameRaw(a.Touchpoint, b.Touchpoint) &&
		sameRaw(a.Traits, b.Traits)
}

// TestDecodeEquivalence runs the seeds of FuzzDecodeEquivalence through the
// equivalence check for each endpoint type, without fuzzing.
func TestDecodeEquivalence(t *testing.T) {
	for _, s := range equivalenceSeeds() {
		for _, typ := range []string{"", pipeline.TypeTrack, pipeline.TypePage, pipeline.TypeIdentify, pipeline.TypeAlias} {
			checkEquivalent(t, []byte(s), typ)
		}
	}
}

// equivalenceSeeds are bodies that reach every branch of the decoding:
// analytics.js batches, case-folded and duplicate names, fields of every
// JSON type, escapes, invalid UTF-8, whitespace, and broken JSON.
func equivalenceSeeds() []string {
	seeds := []string{
		`{"batch":[{"type":"track","event":"Product Added","anonymousId":"a","messageId":"m","userId":"u","properties":{"product_id":"p","price":12,"currency":"usd","cart_id":"cart-a","revenue":"1e3","engagement_time_msec":1e99,"touchpoint":"Web"},"context":{"page":{"url":"https://shop.test/p?utm_source=g&utm_medium=cpc&utm_campaign=c","path":"/p","referrer":"https://g.test/","title":"P"},"library":{"name":"analytics.js","version":"5"},"userAgent":"Mozilla","locale":"en"},"timestamp":"2026-11-20T10:00:00Z","originalTimestamp":"2026-11-20T09:59:59.123Z","sentAt":"2026-11-20T10:00:00Z","writeKey":"k2"}],"writeKey":"dev","sentAt":"2026-11-20T10:00:00Z"}`,
		`{"batch":[{"type":"page","userId":1,"originalTimestamp":"2299-12-31T23:59:59Z"}],"sentAt":"1900-01-01T00:00:00Z","context":{"page":{"url":"http://[::1]:namedport/%zz"}}}`,
		`{"batch":[{"type":"identify","anonymousId":"a","traits":{"x":[1,2]},"context":{"traits":null,"campaign":"x","touchpoint":"APP"}}],"context":{"library":{"name":"analytics-ios"}}}`,
		`{"batch":[{"type":"alias","userId":"u","previousId":"p"},{"type":"screen","name":null,"anonymousId":"\ud800"},1,null,"x",[]]}`,
		`{"batch":[{"type":"track","event":"E","anonymousId":"a","properties":{"revenue":"NaN","total":"Infinity"},"timestamp":"2026-13-45T99:00:00Z"}]}`,
		`{"BATCH":[{"TYPE":"Track","Event":"E","AnonymousID":"a","PROPERTIES":{"ORDER_ID":5,"orderid":6,"Cart_Id":"c"},"Context":{"PAGE":{"URL":"u"}}}],"WriteKey":"w","CONTEXT":{"Campaign":{"Source":"s"}}}`,
		`{"batch":[{"type":"track","type":"page","event":"a","event":"b","anonymousId":"x","anonymousId":"y","properties":{"url":"1","url":"2"},"context":{"page":{"url":"a"},"page":{"path":"/b"}}}],"batch":[{"type":"group","anonymousId":"g","traits":null,"context":{"traits":{"total":"3"}}}],"context":{"os":{"name":"a"}},"context":{"device":{"type":"b"}}}`,
		`{"batch":[{"type":"track","event":"E\u00e9\n\"q\"","anonymousId":"\u0041\ud83d\ude00","properties":{"currency":" eur ","revenue":" 12.5 "},"context":{"library":{"name":"ANALYTICS-NODE"}}}],"writeKey":"\u0064ev"}`,
		"{\"batch\":[{\"type\":\"track\",\"event\":\"\xff\xfe\",\"anonymousId\":\"a\xc3\",\"properties\":{\"k\xff\":\"\xff\"}}],\"writeKey\":\"d\xffv\"}",
		" \t\r\n{ \"batch\" : [ { \"type\" : \"track\" , \"event\" : \"E\" , \"anonymousId\" : \"a\" , \"properties\" : { \"a\" : [ 1 , 2 ] } , \"context\" : { \"page\" : { \"url\" : \"x\" } } } ] , \"context\" : { } } \n",
		"\xef\xbb\xbf{\"batch\":[{\"type\":\"track\",\"event\":\"E\",\"anonymousId\":\"a\"}]}",
		`{"batch":[{"type":"track","event":"E","anonymousId":"a","messageId":12.5e3,"userId":-1,"properties":{"order_id":"","orderId":7,"cart_id":null,"cartId":true,"engagement_time_msec":"42","revenue":null,"total":"x"}}]}`,
		`{"batch":[{"type":"track","event":1,"anonymousId":"a"},{"type":"track","anonymousId":{}},{"type":"page","name":[],"anonymousId":"a"},{"type":"x"},{"type":"","anonymousId":"a"},{"type":"track","event":"E","anonymousId":"a","context":[]},{"type":"track","event":"E","anonymousId":"a","properties":"p"},{"type":"identify","anonymousId":"a","traits":5},{"type":"identify","anonymousId":"a","context":{"traits":"t"}}]}`,
		`{"batch":[{"type":"track","event":"E","anonymousId":"a","timestamp":5},{"type":"track","event":"E","anonymousId":"a","originalTimestamp":"2026-11-20 10:00:00","sentAt":"2026-11-20t10:00:01+0100"},{"type":"track","event":"E","anonymousId":"a","originalTimestamp":"2026-11-20T10:00:00"},{"type":"track","event":"E","anonymousId":"a","originalTimestamp":"1900-01-01T00:00:00Z","sentAt":"2299-12-31T00:00:00Z"}],"sentAt":"2026-11-20T10:00:00Z"}`,
		`{"batch":[{"type":"track","event":"E","anonymousId":"a","properties":{"touchpoint":"fax"}},{"type":"track","event":"E","anonymousId":"a","context":{"touchpoint":3}},{"type":"track","event":"E","anonymousId":"a","context":{"touchpoint":" SMS ","library":"x","page":5,"campaign":{"name":1},"device":{"type":"tablet"},"os":[]}}]}`,
		`{"batch":{}}`, `{"batch":[]}`, `{"batch":null}`, `{"batch":"x"}`, `{"context":"x","batch":[]}`, `{"context":[],"batch":{}}`,
		`{"batch":[],"context":null,"sentAt":null,"writeKey":null}`, `{"batch":[],"writeKey":5}`, `{"batch":[{"writeKey":7},{"writeKey":""},{"writeKey":"k\u0031"}]}`,
		`{"batch":[1,}`, `{"batch":[]} x`, `{"batch":[]}{}`, `{"a":tru}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":1.}`, `{"a":01}`, `{"a" 1}`, `{,}`,
		`{"a":"\\\\"}`, `{"a":"\\\""}`, `{"a":"x\\\\\\"]}`, `"\\`, `"`, `[[[{"a":"]]]"}]`, `{"a":"\\\\\\\"[[["}`,
		`not json`, ``, `   `, `[]`, `null`, `"x"`, `{`, `}`, `{}`, `{"batch":[{}]}`,
		`{"event":"Signed Up","anonymousId":"a","properties":{"url":"https://x.test/?utm_source=s"}}`,
		`{"name":"Home","anonymousId":"a","sentAt":"2026-11-20T10:00:00Z","originalTimestamp":"2026-11-20T10:00:00Z"}`,
		`{"batch":[{"type":"page","anonymousId":"a","context":{"campaign":{"source":"g","GCLID":" Cj0 ","fbclid":"","gclid":"x","msclkid":7},"page":{"url":"https://s.test/?gclid=U&FBCLID=F"}}},{"type":"track","event":"E","anonymousId":"a","properties":{"url":"/p?wbraid=%20&rdt_cid=R"}}],"context":{"campaign":{"li_fat_id":"L"}}}`,
	}
	return seeds
}

// TestFieldNames checks that the name lists readObject is given follow the
// json tags of the structs they fill, field by field.
func TestFieldNames(t *testing.T) {
	for _, tt := range []struct {
		v     any
		names []string
	}{
		{batchEnvelope{}, batchEnvelopeNames},
		{rawEvent{}, rawEventNames},
		{contextView{}, contextViewNames},
		{propsView{}, propsViewNames},
	} {
		typ := reflect.TypeOf(tt.v)
		var tags []string
		for i := range typ.NumField() {
			tags = append(tags, typ.Field(i).Tag.Get("json"))
		}
		if !reflect.DeepEqual(tags, tt.names) {
			t.Errorf("%s: names %q, json tags %q", typ, tt.names, tags)
		}
	}
}
