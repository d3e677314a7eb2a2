package pixel_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/touchstream/touchstream/collector/pixel"
	"github.com/touchstream/touchstream/pipeline"
)

// FuzzPixelQuery serves arbitrary query strings: no panic, every answer is
// the GIF (or 404 for an unknown kind), and every accepted event is
// complete and encodable.
func FuzzPixelQuery(f *testing.F) {
	for _, seed := range []struct{ kind, query string }{
		{"track", "writeKey=dev&aid=a"},
		{"track", "writeKey=dev&uid=1&event=E&touchpoint=SMS&timestamp=2026-11-20+11:00:00+01:00&prop_revenue=1e999"},
		{"page", "writeKey=dev&anonymousId=a&url=http://[::1]:namedport/%25zz&p=eyJ0b3RhbCI6Ik5hTiIsIm9yZGVySWQiOi0xfQ"},
		{"page", "writeKey=dev&aid=a&p=bnVsbA==&prop_=x;y"},
		{"track", "writeKey=dev&aid=%ff%fe&event=%00&timestamp=2299-12-31T23:59:59.9999Z"},
		{"track", "writeKey=nope&aid=a"},
		{"screen", "writeKey=dev&aid=a"},
		{"track", ""},
	} {
		f.Add(seed.kind, seed.query)
	}
	f.Fuzz(func(t *testing.T, kind, query string) {
		a := &fake{}
		req := httptest.NewRequest(http.MethodGet, "/pixel/v1/x", nil)
		req.URL.RawQuery = query
		req.SetPathValue("kind", kind)
		rec := httptest.NewRecorder()
		pixel.Handler(a).ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNotFound:
			if kind == "track" || kind == "page" {
				t.Fatalf("404 for kind %q", kind)
			}
			return
		case http.StatusOK, http.StatusUnauthorized:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Body.Len() != 43 || !bytes.HasPrefix(rec.Body.Bytes(), []byte("GIF89a")) {
			t.Fatalf("body %q", rec.Body.Bytes())
		}
		if len(a.events)+len(a.dead) > 1 {
			t.Fatalf("%d events, %d dead letters for one pixel", len(a.events), len(a.dead))
		}
		for _, ev := range a.events {
			if ev.VisitorID == "" || ev.MessageID == "" || ev.Type != kind || ev.EventTime.IsZero() || ev.Touchpoint == "" {
				t.Fatalf("accepted incomplete: %+v", ev)
			}
			if ev.Type == pipeline.TypeTrack && ev.EventName == "" {
				t.Fatal("track without a name")
			}
			if ev.Properties != nil && !json.Valid(ev.Properties) {
				t.Fatalf("properties %q", ev.Properties)
			}
			if _, err := json.Marshal(&ev); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
		for _, d := range a.dead {
			if d.Error == "" || (d.Payload != nil && !json.Valid(d.Payload)) {
				t.Fatalf("dead letter %+v", d)
			}
		}
	})
}
