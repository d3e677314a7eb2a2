package collector

import (
	"encoding/json"
	"testing"

	"github.com/touchstream/touchstream/pipeline"
)

// FuzzDecodeBatch runs the Segment decoder and the normalization of every
// event over arbitrary bodies: no panic, every event either accepted whole
// (with the fields the pipeline relies on, and encodable) or refused with
// a reason.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		`{"batch":[{"type":"track","event":"Product Added","anonymousId":"a","messageId":"m","properties":{"revenue":"1e3","cart_id":7,"engagement_time_msec":1e99},"timestamp":"2026-11-20T10:00:00Z"}],"writeKey":"dev"}`,
		`{"batch":[{"type":"page","userId":1,"originalTimestamp":"2299-12-31T23:59:59Z"}],"sentAt":"1900-01-01T00:00:00Z","context":{"page":{"url":"http://[::1]:namedport/%zz"}}}`,
		`{"batch":[{"type":"identify","anonymousId":"a","traits":{"x":[1,2]},"context":{"traits":null,"campaign":"x","touchpoint":"APP"}}],"context":{"library":{"name":"analytics-ios"}}}`,
		`{"batch":[{"type":"alias","userId":"u","previousId":"p"},{"type":"screen","name":null,"anonymousId":"\ud800"},1,null,"x",[]]}`,
		`{"batch":[{"type":"track","event":"E","anonymousId":"a","properties":{"revenue":"NaN","total":"Infinity"},"timestamp":"2026-13-45T99:00:00Z"}]}`,
		`{"batch":{}}`,
		`{"batch":[]}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed), "")
	}
	f.Add([]byte(`{"event":"Signed Up","anonymousId":"a","properties":{"url":"https://x.test/?utm_source=s"}}`), pipeline.TypeTrack)
	f.Add([]byte(`{"name":"Home","anonymousId":"a","sentAt":"2026-11-20T10:00:00Z","originalTimestamp":"2026-11-20T10:00:00Z"}`), pipeline.TypePage)

	f.Fuzz(func(t *testing.T, body []byte, typ string) {
		if typ != "" && !eventTypes[typ] {
			typ = pipeline.TypeTrack
		}
		req, err := decodeSegment(body, typ)
		if err != nil {
			return
		}
		_ = req.eventWriteKey()
		m := batchMeta{typ: typ, context: req.context, sentAt: req.sentAt, receivedAt: testReceivedAt, writeKey: "dev"}
		for i, raw := range req.events {
			ev, eerr := normalize(raw, &m)
			if eerr != nil {
				if eerr.reason == "" || eerr.msg == "" {
					t.Fatalf("event %d: refusal without reason or message: %+v", i, eerr)
				}
				continue
			}
			if ev.VisitorID == "" || ev.MessageID == "" || !eventTypes[ev.Type] || !touchpoints[ev.Touchpoint] || ev.EventTime.IsZero() {
				t.Fatalf("event %d accepted incomplete: %+v", i, ev)
			}
			if ev.Type == pipeline.TypeTrack && ev.EventName == "" {
				t.Fatalf("event %d: track without a name", i)
			}
			if _, err := json.Marshal(&ev); err != nil {
				t.Fatalf("event %d does not encode: %v", i, err)
			}
		}
	})
}
