package snowplow

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/touchstream/touchstream/pipeline"
)

// FuzzDecode decodes arbitrary POST bodies and GET query strings: no panic,
// and every accepted event is complete and encodable.
func FuzzDecode(f *testing.F) {
	ue := unstruct("iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2", `{"type":"transaction"}`)
	tx := contexts(`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/transaction/jsonschema/1-0-0","data":{"transaction_id":1,"revenue":"1e999","currency":7}}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0"}`)
	for _, seed := range []struct{ body, query string }{
		{`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","duid":"d","url":"http://[::1]:x/%zz","dtm":"1795176000000","stm":"1"}]}`, "e=pv&duid=d"},
		{`{"data":[{"e":"ue","uid":"u","ue_pr":` + quote(ue) + `,"co":` + quote(tx) + `}]}`, "e=ue&uid=u&ue_px=" + b64url(ue) + "&cx=" + b64url(tx)},
		{`{"data":[{"e":"ue","nuid":"n","ue_pr":{"schema":"iglu:a/b/c/d","data":{"snowplow":1,"revenue":"NaN"}}}]}`, "e=ue&tnuid=t&ue_pr=%7B%7D"},
		{`{"data":[{"e":"pp","duid":"d","pp_mix":"-9223372036854775809","ttm":"-2208988800000"}]}`, "e=pp&duid=d&pp_may=1e3&ttm=1e13"},
		{`{"data":[{"e":"tr","duid":"d","tr_tt":"1e308","tr_tx":"-0"},{"e":"ti","duid":"d","ti_qu":"0x10"}]}`, "e=se&duid=d&se_ac=&se_va=1"},
		{`{"data":[{"e":"se","duid":"d","se_ac":"a","co":"[{\"schema\":\"iglu:x/client_session/y/z\",\"data\":[]}]"}]}`, "e=ue&duid=d&ue_px=eyJzY2hlbWEiOiJpZ2x1OmEvYi9jL2QiLCJkYXRhIjp7fX0"},
		{`{"data":[null,1,"x",[],{}]}`, "%zz"},
		{`[]`, ""},
	} {
		f.Add([]byte(seed.body), seed.query)
	}
	m := meta{writeKey: "dev", receivedAt: now, pingInterval: DefaultPingInterval}
	check := func(t *testing.T, ev pipeline.Event) {
		t.Helper()
		if ev.VisitorID == "" || ev.MessageID == "" || ev.EventTime.IsZero() || ev.Touchpoint == "" || ev.WriteKey != "dev" {
			t.Fatalf("accepted incomplete: %+v", ev)
		}
		if ev.EventTime.Before(minTime) || ev.EventTime.After(maxTime) {
			t.Fatalf("event time %v out of range", ev.EventTime)
		}
		switch ev.Type {
		case pipeline.TypeTrack:
			if ev.EventName == "" {
				t.Fatal("track without a name")
			}
		case pipeline.TypePage, pipeline.TypeScreen:
		default:
			t.Fatalf("type %q", ev.Type)
		}
		if !json.Valid(ev.Properties) {
			t.Fatalf("properties %q", ev.Properties)
		}
		if _, err := json.Marshal(&ev); err != nil {
			t.Fatalf("event does not encode: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		if items, err := decodeBody(body); err == nil {
			for _, raw := range items {
				p, err := decodeItem(raw)
				if err != nil {
					continue
				}
				if ev, err := decode(p, m); err == nil {
					check(t, ev)
				}
			}
		}
		q, _ := url.ParseQuery(query)
		if ev, err := decode(queryParams(q), m); err == nil {
			check(t, ev)
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
