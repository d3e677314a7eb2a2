package processor

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// FuzzDecodeEvent checks that decodeEvent agrees with encoding/json on
// every input: both fail, or both decode the same event.
func FuzzDecodeEvent(f *testing.F) {
	at := time.Date(2026, 11, 22, 7, 12, 13, 456_000_000, time.UTC)
	full, err := json.Marshal(pipeline.Event{
		MessageID: "m-1", EventTime: at, ReceivedAt: at.Add(time.Second), Type: pipeline.TypeTrack,
		EventName: pipeline.EventProductAdded, Touchpoint: pipeline.TouchpointWeb, VisitorID: "anon-1",
		UserID: "user-1", UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "spring", PageURL: "https://shop.example.com/p?q=1",
		PagePath: "/p", Referrer: "https://www.google.com/", LibraryName: "analytics.js", DeviceType: "mobile",
		Browser: "Safari", OS: "iOS", Revenue: 12.5, Currency: "USD", OrderID: "o-1", CartID: "c-1",
		EngagementMS: 1500, Properties: json.RawMessage(`{"a":[1,2,{"b":null}],"c":"\u00e9"}`), WriteKey: "wk",
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(full),
		`{"message_id":"m","visitor_id":"v","event_time":"2026-11-22T07:12:13Z"}`,
		`{"MESSAGE_ID":"m","Visitor_Id":"v","event_time":"2026-11-22T07:12:13+02:00"}`,
		`{"message_id":"a","message_id":"b","visitor_id":"v\ud800","event_time":"2026-11-22T07:12:13.123456789Z"}`,
		`{"message_id":"m","visitor_id":"v","event_time":"2026-11-22 07:12:13"}`,
		`{"message_id":null,"revenue":"12","engagement_time_msec":1.5}`,
		`{"revenue":1e400}`,
		`{"properties":null,"user_id":"u","unknown":{"x":[true,false,null]}}`,
		"{\"page_url\":\"\xff\xfe\"}",
		`{"message_id":"m"} trailing`,
		`[]`, `null`, `""`, `{`, `{"event_time":""}`, `{"engagement_time_msec":-9223372036854775808}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got pipeline.Event
		werr := json.Unmarshal(b, &want)
		gerr := decodeEvent(b, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json says %v, decodeEvent %v", b, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nencoding/json %+v\ndecodeEvent   %+v", b, want, got)
		}
	})
}
