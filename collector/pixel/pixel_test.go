package pixel_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/gif"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/pixel"
	"github.com/touchstream/touchstream/pipeline"
)

var _ pixel.Acceptor = (*collector.Server)(nil)

// now is the fake collector's clock.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fake is an Acceptor that records what it is given.
type fake struct {
	err error // Accept's answer

	mu        sync.Mutex
	events    []pipeline.Event
	dead      []pipeline.Rejected
	endpoints []string
}

func (f *fake) KnownWriteKey(key string) bool { return key == "dev" }
func (f *fake) Now() time.Time                { return now }

func (f *fake) Accept(_ context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endpoints = append(f.endpoints, endpoint)
	f.dead = append(f.dead, dead...)
	if f.err != nil {
		return f.err
	}
	f.events = append(f.events, events...)
	return nil
}

// serve sends GET target (a path and query) through a mux routed as the
// collector routes the pixel.
func serve(t *testing.T, a pixel.Acceptor, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /pixel/v1/{kind}", pixel.Handler(a))
	req := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

// transparentGIF is the 1x1 transparent GIF89a every answer carries.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// checkGIF checks the body and the headers every pixel answer has.
func checkGIF(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if !bytes.Equal(rec.Body.Bytes(), transparentGIF) {
		t.Errorf("body %q, want the 43-byte GIF", rec.Body.Bytes())
	}
	for k, want := range map[string]string{
		"Content-Type":   "image/gif",
		"Content-Length": "43",
		"Cache-Control":  "no-cache, no-store, must-revalidate, private, max-age=0",
		"Pragma":         "no-cache",
		"Expires":        "0",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func TestGIF(t *testing.T) {
	if len(transparentGIF) != 43 {
		t.Fatalf("test GIF is %d bytes", len(transparentGIF))
	}
	rec := serve(t, &fake{}, http.MethodGet, "/pixel/v1/track?writeKey=dev&aid=a")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	checkGIF(t, rec)
	img, err := gif.Decode(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("bounds %v, want 1x1", b)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("pixel alpha %d, want transparent", a)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestEvents(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   pipeline.Event // MessageID "" means a generated one
	}{
		{
			name:   "email open",
			target: "/pixel/v1/track?writeKey=dev&aid=r-1",
			want: pipeline.Event{
				EventTime: now, ReceivedAt: now, Type: "track", EventName: "Email Opened",
				Touchpoint: "email", VisitorID: "r-1", LibraryName: "touchstream-pixel", WriteKey: "dev",
			},
		},
		{
			name: "track, every parameter",
			target: "/pixel/v1/track?writeKey=dev&anonymousId=a&userId=u&event=Promo+Viewed&messageId=m1" +
				"&timestamp=2026-11-20T10:00:00.123456Z&touchpoint=SMS&utm_source=newsletter&utm_medium=sms&utm_campaign=bf" +
				"&url=https%3A%2F%2Fshop.test%2Fdeals%3Futm_source%3Dother&referrer=https%3A%2F%2Fmail.test%2F" +
				"&prop_variant=b&p=" + b64(`{"revenue":"12.5","currency":" eur","order_id":7,"cartId":"c9","variant":"a","engagement_time_msec":1500}`),
			want: pipeline.Event{
				MessageID: "m1", EventTime: time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC), ReceivedAt: now,
				Type: "track", EventName: "Promo Viewed", Touchpoint: "sms", VisitorID: "a", UserID: "u",
				UTMSource: "newsletter", UTMMedium: "sms", UTMCampaign: "bf",
				PageURL: "https://shop.test/deals?utm_source=other", PagePath: "/deals", Referrer: "https://mail.test/",
				LibraryName: "touchstream-pixel", Revenue: 12.5, Currency: "EUR", OrderID: "7", CartID: "c9", EngagementMS: 1500,
				Properties: json.RawMessage(`{"cartId":"c9","currency":" eur","engagement_time_msec":1500,"order_id":7,"revenue":"12.5","variant":"b"}`),
				WriteKey:   "dev",
			},
		},
		{
			name:   "user id only, short alias, padded p",
			target: "/pixel/v1/track?writeKey=dev&uid=42&event=Coupon+Shown&p=" + base64.URLEncoding.EncodeToString([]byte(`{"total":3}`)),
			want: pipeline.Event{
				EventTime: now, ReceivedAt: now, Type: "track", EventName: "Coupon Shown", Touchpoint: "email",
				VisitorID: "42", UserID: "42", LibraryName: "touchstream-pixel", Revenue: 3,
				Properties: json.RawMessage(`{"total":3}`), WriteKey: "dev",
			},
		},
		{
			name:   "anonymousId wins over aid",
			target: "/pixel/v1/track?writeKey=dev&aid=short&anonymousId=long",
			want: pipeline.Event{
				EventTime: now, ReceivedAt: now, Type: "track", EventName: "Email Opened", Touchpoint: "email",
				VisitorID: "long", LibraryName: "touchstream-pixel", WriteKey: "dev",
			},
		},
		{
			name:   "page, campaign from the URL, prop url wins",
			target: "/pixel/v1/page?writeKey=dev&aid=a&name=Welcome&touchpoint=web&url=https://x.test/ignored&prop_url=https%3A%2F%2Fshop.test%2Fwelcome%3Futm_source%3Dig%26utm_medium%3Dsocial%26utm_campaign%3Dlaunch",
			want: pipeline.Event{
				EventTime: now, ReceivedAt: now, Type: "page", EventName: "Welcome", Touchpoint: "web", VisitorID: "a",
				UTMSource: "ig", UTMMedium: "social", UTMCampaign: "launch",
				PageURL: "https://shop.test/welcome?utm_source=ig&utm_medium=social&utm_campaign=launch", PagePath: "/welcome",
				LibraryName: "touchstream-pixel", WriteKey: "dev",
				Properties: json.RawMessage(`{"url":"https://shop.test/welcome?utm_source=ig\u0026utm_medium=social\u0026utm_campaign=launch"}`),
			},
		},
		{
			name:   "page without a name; event ignored",
			target: "/pixel/v1/page?writeKey=dev&aid=a&event=Nope&path=/p",
			want: pipeline.Event{
				EventTime: now, ReceivedAt: now, Type: "page", Touchpoint: "email", VisitorID: "a", PagePath: "/p",
				LibraryName: "touchstream-pixel", WriteKey: "dev",
			},
		},
		{
			name:   "offset whose + was not encoded, date and time split by a space",
			target: "/pixel/v1/track?writeKey=dev&aid=a&timestamp=2026-11-20+11:00:00+01:00",
			want: pipeline.Event{
				EventTime: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), ReceivedAt: now, Type: "track",
				EventName: "Email Opened", Touchpoint: "email", VisitorID: "a", LibraryName: "touchstream-pixel", WriteKey: "dev",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			rec := serve(t, f, http.MethodGet, tt.target)
			if rec.Code != http.StatusOK || rec.Header().Get("X-Touchstream-Error") != "" {
				t.Fatalf("status %d, error %q", rec.Code, rec.Header().Get("X-Touchstream-Error"))
			}
			checkGIF(t, rec)
			if len(f.events) != 1 || len(f.dead) != 0 {
				t.Fatalf("accepted %d events, %d dead letters", len(f.events), len(f.dead))
			}
			got := f.events[0]
			if tt.want.MessageID == "" {
				if len(got.MessageID) != 36 {
					t.Errorf("generated message id %q", got.MessageID)
				}
				got.MessageID = ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event\n got %+v\nwant %+v", got, tt.want)
			}
			if kind := tt.want.Type; f.endpoints[0] != "/pixel/v1/"+kind {
				t.Errorf("endpoint %q", f.endpoints[0])
			}
		})
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name, target, error string
	}{
		{"no id", "/pixel/v1/track?writeKey=dev&event=E", "anonymousId (aid) or userId (uid) is required"},
		{"empty ids", "/pixel/v1/page?writeKey=dev&aid=&uid=", "anonymousId (aid) or userId (uid) is required"},
		{"sms track without event", "/pixel/v1/track?writeKey=dev&aid=a&touchpoint=sms", `event: required for a track pixel (only touchpoint email defaults to "Email Opened")`},
		{"unknown touchpoint", "/pixel/v1/track?writeKey=dev&aid=a&touchpoint=fax", `touchpoint: "fax" is not one of email, sms, web, app, social, chat, server`},
		{"bad timestamp", "/pixel/v1/track?writeKey=dev&aid=a&timestamp=yesterday", `timestamp: "YESTERDAY" is not an ISO 8601 time`},
		{"timestamp out of range", "/pixel/v1/track?writeKey=dev&aid=a&timestamp=1899-12-31T00:00:00Z", `timestamp: "1899-12-31T00:00:00Z" is out of range`},
		{"p not base64", "/pixel/v1/track?writeKey=dev&aid=a&p=!!", "p: not base64url: illegal base64 data at input byte 0"},
		{"p not an object", "/pixel/v1/track?writeKey=dev&aid=a&p=" + b64(`[1]`), "p: must be a JSON object"},
		{"p null", "/pixel/v1/track?writeKey=dev&aid=a&p=" + b64(`null`), "p: must be a JSON object"},
		{"p invalid JSON", "/pixel/v1/track?writeKey=dev&aid=a&p=" + b64(`{"a":`), "p: invalid JSON: unexpected end of JSON input"},
		{"bad escape", "/pixel/v1/track?writeKey=dev&aid=a&prop_x=%zz", `query: invalid URL escape "%zz"`},
		{"too large", "/pixel/v1/track?writeKey=dev&aid=a&prop_x=" + strings.Repeat("x", 32<<10), "query: larger than 32768 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			rec := serve(t, f, http.MethodGet, tt.target)
			if rec.Code != http.StatusOK {
				t.Errorf("status %d, want 200: a refused event still shows the image", rec.Code)
			}
			checkGIF(t, rec)
			if got := rec.Header().Get("X-Touchstream-Error"); got != tt.error {
				t.Errorf("X-Touchstream-Error %q, want %q", got, tt.error)
			}
			if len(f.events) != 0 || len(f.dead) != 1 {
				t.Fatalf("accepted %d events, %d dead letters", len(f.events), len(f.dead))
			}
			d := f.dead[0]
			kind := strings.TrimPrefix(tt.target[:strings.IndexByte(tt.target, '?')], "/pixel/v1/")
			if d.Error != tt.error || d.Source != "/pixel/v1/"+kind || d.WriteKey != "dev" || d.Index != 0 || !d.ReceivedAt.Equal(now) {
				t.Errorf("dead letter %+v", d)
			}
			var payload string
			if tt.name == "too large" {
				if d.Payload != nil {
					t.Errorf("payload of %d bytes kept", len(d.Payload))
				}
			} else if err := json.Unmarshal(d.Payload, &payload); err != nil || payload != tt.target[strings.IndexByte(tt.target, '?')+1:] {
				t.Errorf("payload %s (%v), want the raw query", d.Payload, err)
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	for _, target := range []string{
		"/pixel/v1/track?aid=a",
		"/pixel/v1/track?writeKey=&aid=a",
		"/pixel/v1/page?writeKey=nope&aid=a",
		"/pixel/v1/track?writeKey=nope&aid=a&prop_x=%zz",
	} {
		f := &fake{}
		rec := serve(t, f, http.MethodGet, target)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("X-Touchstream-Error") == "" {
			t.Errorf("%s: status %d, error %q", target, rec.Code, rec.Header().Get("X-Touchstream-Error"))
		}
		checkGIF(t, rec)
		if len(f.endpoints) != 0 {
			t.Errorf("%s: Accept called", target)
		}
	}
}

func TestKafkaDown(t *testing.T) {
	f := &fake{err: errors.New("kafka: no leader")}
	rec := serve(t, f, http.MethodGet, "/pixel/v1/track?writeKey=dev&aid=a")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	checkGIF(t, rec)
	// A refused event answers 200 whatever happens to its dead letter.
	rec = serve(t, f, http.MethodGet, "/pixel/v1/track?writeKey=dev")
	if rec.Code != http.StatusOK {
		t.Errorf("refused event with Kafka down: status %d", rec.Code)
	}
}

func TestHeadRecordsNothing(t *testing.T) {
	f := &fake{}
	rec := serve(t, f, http.MethodHead, "/pixel/v1/track?writeKey=dev&aid=a")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/gif" {
		t.Errorf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if len(f.endpoints) != 0 {
		t.Error("HEAD recorded an event")
	}
}

func TestUnknownKind(t *testing.T) {
	f := &fake{}
	for _, target := range []string{"/pixel/v1/screen?writeKey=dev&aid=a", "/pixel/v1/identify?writeKey=dev&uid=u"} {
		if rec := serve(t, f, http.MethodGet, target); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d", target, rec.Code)
		}
	}
	if len(f.endpoints) != 0 {
		t.Error("Accept called")
	}
}

// TestExactRoutes mounts the handler on literal paths, without {kind}.
func TestExactRoutes(t *testing.T) {
	f := &fake{}
	mux := http.NewServeMux()
	mux.Handle("GET /pixel/v1/track", pixel.Handler(f))
	mux.Handle("GET /pixel/v1/page", pixel.Handler(f))
	for _, target := range []string{"/pixel/v1/track?writeKey=dev&aid=a", "/pixel/v1/page?writeKey=dev&aid=a"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", target, rec.Code)
		}
	}
	if len(f.events) != 2 || f.events[0].Type != "track" || f.events[1].Type != "page" {
		t.Errorf("events %+v", f.events)
	}
}

// TestUserAgent: a pixel event's device type, browser and os come from the
// User-Agent of the request (the mail client's or the browser's own).
func TestUserAgent(t *testing.T) {
	f := &fake{}
	mux := http.NewServeMux()
	mux.Handle("GET /pixel/v1/{kind}", pixel.Handler(f))
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/pixel/v1/track?writeKey=dev&aid=a&event=Email%20Opened", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")
	mux.ServeHTTP(httptest.NewRecorder(), req)
	if len(f.events) != 1 {
		t.Fatalf("%d events, want 1", len(f.events))
	}
	if e := f.events[0]; e.DeviceType != "mobile" || e.Browser != "Chrome" || e.OS != "Android" {
		t.Errorf("device %q, browser %q, os %q; want mobile, Chrome, Android", e.DeviceType, e.Browser, e.OS)
	}
}
