package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// now is received_at in every case: 2026-11-20T12:00:00Z, 1795176000000 ms.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// contexts wraps entities in the contexts envelope, as co carries them.
func contexts(entities ...string) string {
	return `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[` + strings.Join(entities, ",") + `]}`
}

// unstruct wraps an event in the unstruct_event envelope, as ue_pr carries it.
func unstruct(schema, data string) string {
	return `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"` + schema + `","data":` + data + `}}`
}

const (
	webPage       = `{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"0f8d2a7e-3c1b-4e5f-9a6d-7b8c9d0e1f2a"}}`
	shoeURL       = "https://shop.example/p/blue-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=bf"
	domainUserID  = "d8a6c1e4-5b2f-4c3d-8e9f-0a1b2c3d4e5f"
	domainSession = "5c3f9e2a-1b4d-4f6e-8a7c-9d0e1f2a3b4c"
)

// jsEvent is what the JavaScript tracker v3 sends for event e, with extra
// parameters (an empty value deletes one). Its device clock is an hour
// ahead: dtm and stm are 1 h + 3 s and 1 h after received_at.
func jsEvent(e string, extra params) params {
	p := params{
		"e": e, "eid": "4a1b2c3d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "tv": "js-3.23.0", "tna": "sp", "aid": "shop", "p": "web",
		"tz": "Europe/Berlin", "lang": "en-US", "cs": "UTF-8", "res": "1920x1080", "cd": "24", "cookie": "1",
		"vp": "1280x720", "ds": "1265x4000", "vid": "3", "sid": domainSession, "duid": domainUserID,
		"url": shoeURL, "refr": "https://mail.example/", "page": "Blue Shoes | Shop",
		"dtm": "1795179597000", "stm": "1795179600000",
		"cx": b64url(contexts(webPage)),
	}
	for k, v := range extra {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return p
}

// webEvent is the columns every jsEvent maps to.
func webEvent(typ, name string) pipeline.Event {
	return pipeline.Event{
		MessageID: "4a1b2c3d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", EventTime: now.Add(-3 * time.Second), ReceivedAt: now,
		Type: typ, EventName: name, Touchpoint: "web", VisitorID: domainUserID,
		UTMSource: "newsletter", UTMMedium: "email", UTMCampaign: "bf",
		PageURL: shoeURL, PagePath: "/p/blue-shoes", Referrer: "https://mail.example/",
		LibraryName: "snowplow-js", WriteKey: "dev",
	}
}

// jsMeta is properties.snowplow of a jsEvent.
func jsMeta(e string, more string) string {
	return `{"event":"` + e + `","app_id":"shop","platform":"web","tracker":"js-3.23.0","namespace":"sp",` +
		`"session_id":"` + domainSession + `","session_index":3,"contexts":[` + webPage + `]` + more + `}`
}

func with(ev pipeline.Event, f func(*pipeline.Event)) pipeline.Event {
	f(&ev)
	return ev
}

func TestDecode(t *testing.T) {
	ecommerceAction := func(typ string) string {
		return unstruct("iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2", `{"type":"`+typ+`"}`)
	}
	product := `{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0","data":{"id":"sku-42","name":"Blue Shoes","category":"shoes","price":79.9,"currency":"eur","quantity":2}}`
	transaction := `{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/transaction/jsonschema/1-0-0","data":{"transaction_id":"T-1001","revenue":159.8,"currency":"EUR","payment_method":"card","total_quantity":2}}`
	refund := `{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/refund/jsonschema/1-0-0","data":{"transaction_id":"T-1001","currency":"EUR","refund_amount":40,"refund_reason":"damaged"}}`
	cart := `{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/cart/jsonschema/1-0-0","data":{"cart_id":"cart-7","total_value":159.8,"currency":"EUR"}}`
	checkoutStep := func(step string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/checkout_step/jsonschema/1-0-0","data":{"step":` + step + `}}`
	}
	mobileContexts := contexts(
		`{"schema":"iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2","data":{"userId":"a1b2c3d4-app-user","sessionId":"s-9","sessionIndex":4,"storageMechanism":"SQLITE","firstEventId":"e-1"}}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-3","data":{"osType":"android","osVersion":"14","deviceManufacturer":"Google","deviceModel":"Pixel 8"}}`,
	)

	tests := []struct {
		name  string
		p     params
		ping  time.Duration
		want  pipeline.Event
		props string // the properties, compared as JSON values
	}{
		{
			name: "page view, contexts in cx, dtm corrected with stm",
			p:    jsEvent("pv", nil),
			want: webEvent("page", "Blue Shoes | Shop"),
			props: `{"title":"Blue Shoes | Shop","url":"` + shoeURL + `","path":"/p/blue-shoes","referrer":"https://mail.example/",` +
				`"snowplow":` + jsMeta("pv", "") + `}`,
		},
		{
			name: "page view, contexts plain in co, the true timestamp wins",
			p:    jsEvent("pv", params{"cx": "", "co": contexts(webPage), "ttm": "1795175000123", "uid": "u-17"}),
			want: with(webEvent("page", "Blue Shoes | Shop"), func(e *pipeline.Event) {
				e.EventTime = time.Date(2026, 11, 20, 11, 43, 20, 123e6, time.UTC)
				e.UserID = "u-17"
			}),
		},
		{
			name: "cx with standard base64 and padding, dtm without stm",
			p:    jsEvent("pv", params{"cx": base64.StdEncoding.EncodeToString([]byte(contexts(webPage))), "stm": ""}),
			want: with(webEvent("page", "Blue Shoes | Shop"), func(e *pipeline.Event) { e.EventTime = now.Add(time.Hour - 3*time.Second) }),
		},
		{
			name: "no time at all is received_at",
			p:    jsEvent("pv", params{"dtm": "", "stm": ""}),
			want: with(webEvent("page", "Blue Shoes | Shop"), func(e *pipeline.Event) { e.EventTime = now }),
		},
		{
			name: "page view from a paid-search click: the URL's click id",
			p:    jsEvent("pv", params{"url": "https://shop.example/p/blue-shoes?gclid=Cj0KCQiA_x-Y&fbclid=IwAR"}),
			want: with(webEvent("page", "Blue Shoes | Shop"), func(e *pipeline.Event) {
				e.PageURL = "https://shop.example/p/blue-shoes?gclid=Cj0KCQiA_x-Y&fbclid=IwAR"
				e.UTMSource, e.UTMMedium, e.UTMCampaign = "", "", ""
				e.ClickIDType, e.ClickID = "gclid", "Cj0KCQiA_x-Y"
			}),
		},
		{
			name: "click id: parameter case ignored, empty values and unknown parameters skipped",
			p:    jsEvent("pv", params{"url": "https://shop.example/p?gclid=&gclsrc=aw.ds&MSCLKID=M-1"}),
			want: with(webEvent("page", "Blue Shoes | Shop"), func(e *pipeline.Event) {
				e.PageURL, e.PagePath = "https://shop.example/p?gclid=&gclsrc=aw.ds&MSCLKID=M-1", "/p"
				e.UTMSource, e.UTMMedium, e.UTMCampaign = "", "", ""
				e.ClickIDType, e.ClickID = "msclkid", "M-1"
			}),
		},
		{
			name: "structured event",
			p:    jsEvent("se", params{"se_ca": "video", "se_ac": "play", "se_la": "intro.mp4", "se_pr": "autoplay", "se_va": "12.5"}),
			want: webEvent("track", "play"),
			props: `{"category":"video","action":"play","label":"intro.mp4","property":"autoplay","value":12.5,` +
				`"snowplow":` + jsMeta("se", "") + `}`,
		},
		{
			name: "self-describing event of another vendor, base64 in ue_px: named by its schema",
			p: jsEvent("ue", params{"ue_px": b64url(unstruct("iglu:com.acme/add_to_cart/jsonschema/1-0-0",
				`{"sku":"sku-42","qty":1,"currency":"usd","cart_id":"c-9"}`))}),
			want: with(webEvent("track", "add_to_cart"), func(e *pipeline.Event) { e.Currency, e.CartID = "USD", "c-9" }),
			props: `{"sku":"sku-42","qty":1,"currency":"usd","cart_id":"c-9",` +
				`"snowplow":` + jsMeta("ue", `,"schema":"iglu:com.acme/add_to_cart/jsonschema/1-0-0"`) + `}`,
		},
		{
			name: "Snowplow's add_to_cart is Product Added",
			p: jsEvent("ue", params{"ue_pr": unstruct("iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0",
				`{"sku":"sku-42","name":"Blue Shoes","category":"shoes","unitPrice":79.9,"quantity":1,"currency":"EUR"}`)}),
			want: with(webEvent("track", "Product Added"), func(e *pipeline.Event) { e.Currency = "EUR" }),
		},
		{
			name: "Snowplow's remove_from_cart is Product Removed",
			p: jsEvent("ue", params{"ue_pr": unstruct("iglu:com.snowplowanalytics.snowplow/remove_from_cart/jsonschema/1-0-0",
				`{"sku":"sku-42","quantity":1}`)}),
			want: webEvent("track", "Product Removed"),
		},
		{
			name: "an event without the unstruct_event envelope",
			p:    jsEvent("ue", params{"ue_pr": `{"schema":"iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1","data":{"targetUrl":"https://x.example/"}}`}),
			want: webEvent("track", "link_click"),
		},
		{
			name: "e-commerce plugin: product view",
			p:    jsEvent("ue", params{"ue_px": b64url(ecommerceAction("product_view")), "cx": b64url(contexts(webPage, product))}),
			want: with(webEvent("track", "Product Viewed"), func(e *pipeline.Event) { e.Currency = "EUR" }),
		},
		{
			name: "e-commerce plugin: add to cart with its cart",
			p:    jsEvent("ue", params{"ue_px": b64url(ecommerceAction("add_to_cart")), "cx": b64url(contexts(product, cart))}),
			want: with(webEvent("track", "Product Added"), func(e *pipeline.Event) { e.Currency, e.CartID = "EUR", "cart-7" }),
		},
		{
			name: "e-commerce plugin: transaction is Order Completed with its entities",
			p: jsEvent("ue", params{"ue_px": b64url(ecommerceAction("transaction")), "cx": "",
				"co": contexts(webPage, product, transaction)}),
			want: with(webEvent("track", "Order Completed"), func(e *pipeline.Event) {
				e.OrderID, e.Revenue, e.Currency = "T-1001", 159.8, "EUR"
			}),
			props: `{"type":"transaction","products":[` + product[strings.Index(product, `{"id"`):len(product)-1] + `],` +
				`"transaction":` + transaction[strings.Index(transaction, `{"transaction_id"`):len(transaction)-1] + `,` +
				`"snowplow":{"event":"ue","app_id":"shop","platform":"web","tracker":"js-3.23.0","namespace":"sp",` +
				`"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2",` +
				`"session_id":"` + domainSession + `","session_index":3,"contexts":[` + webPage + `,` + product + `,` + transaction + `]}}`,
		},
		{
			name: "e-commerce plugin: a refund is Order Refunded with its amount as revenue",
			p:    jsEvent("ue", params{"ue_px": b64url(ecommerceAction("refund")), "cx": b64url(contexts(refund, transaction))}),
			want: with(webEvent("track", "Order Refunded"), func(e *pipeline.Event) {
				e.OrderID, e.Revenue, e.Currency = "T-1001", 40, "EUR"
			}),
		},
		{
			name: "e-commerce plugin: a refund without an amount refunds the whole order (revenue 0)",
			p: jsEvent("ue", params{"ue_px": b64url(ecommerceAction("refund")),
				"cx": b64url(contexts(`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/refund/jsonschema/1-0-0","data":{"transaction_id":"T-1002","currency":"usd"}}`))}),
			want: with(webEvent("track", "Order Refunded"), func(e *pipeline.Event) { e.OrderID, e.Currency = "T-1002", "USD" }),
		},
		{
			name: "e-commerce plugin: checkout step 1 is Checkout Started",
			p:    jsEvent("ue", params{"ue_px": b64url(ecommerceAction("checkout_step")), "cx": b64url(contexts(checkoutStep("1")))}),
			want: webEvent("track", "Checkout Started"),
		},
		{
			name: "e-commerce plugin: a later checkout step",
			p:    jsEvent("ue", params{"ue_px": b64url(ecommerceAction("checkout_step")), "cx": b64url(contexts(checkoutStep("2")))}),
			want: webEvent("track", "Checkout Step Viewed"),
		},
		{
			name: "e-commerce plugin: an action type of its own",
			p:    jsEvent("ue", params{"ue_px": b64url(ecommerceAction("trns_error"))}),
			want: webEvent("track", "trns_error"),
		},
		{
			name: "classic transaction",
			p: jsEvent("tr", params{"tr_id": "T-1001", "tr_af": "web-shop", "tr_tt": "164.80", "tr_tx": "26.31", "tr_sh": "5.00",
				"tr_ci": "Berlin", "tr_st": "BE", "tr_co": "DE", "tr_cu": "eur"}),
			want: with(webEvent("track", "Order Completed"), func(e *pipeline.Event) {
				e.OrderID, e.Revenue, e.Currency = "T-1001", 164.8, "EUR"
			}),
			props: `{"order_id":"T-1001","affiliation":"web-shop","total":164.8,"tax":26.31,"shipping":5,"city":"Berlin","state":"BE",` +
				`"country":"DE","currency":"EUR","snowplow":` + jsMeta("tr", "") + `}`,
		},
		{
			name: "classic transaction item",
			p: jsEvent("ti", params{"ti_id": "T-1001", "ti_sk": "sku-42", "ti_nm": "Blue Shoes", "ti_ca": "shoes",
				"ti_pr": "79.90", "ti_qu": "2", "ti_cu": "EUR"}),
			want: with(webEvent("track", "Order Item"), func(e *pipeline.Event) { e.OrderID, e.Currency = "T-1001", "EUR" }),
			props: `{"order_id":"T-1001","sku":"sku-42","name":"Blue Shoes","category":"shoes","price":79.9,"quantity":2,"currency":"EUR",` +
				`"snowplow":` + jsMeta("ti", "") + `}`,
		},
		{
			name: "page ping counts the ping interval",
			p:    jsEvent("pp", params{"pp_mix": "0", "pp_max": "0", "pp_miy": "120", "pp_may": "1840"}),
			ping: DefaultPingInterval,
			want: with(webEvent("track", "Page Ping"), func(e *pipeline.Event) { e.EngagementMS = 10000 }),
			props: `{"title":"Blue Shoes | Shop","url":"` + shoeURL + `","path":"/p/blue-shoes","referrer":"https://mail.example/",` +
				`"x_min":0,"x_max":0,"y_min":120,"y_max":1840,"engagement_time_msec":10000,"snowplow":` + jsMeta("pp", "") + `}`,
		},
		{
			name: "page ping with an unknown interval, a scroll offset that is not a number",
			p:    jsEvent("pp", params{"pp_mix": "0", "pp_max": "NaN", "pp_miy": "120", "pp_may": "1840"}),
			want: webEvent("track", "Page Ping"),
			props: `{"title":"Blue Shoes | Shop","url":"` + shoeURL + `","path":"/p/blue-shoes","referrer":"https://mail.example/",` +
				`"x_min":0,"y_min":120,"y_max":1840,"snowplow":` + jsMeta("pp", "") + `}`,
		},
		{
			name: "Android screen view: app touchpoint, the client session's user id, the OS",
			p: params{
				"e": "ue", "eid": "e-2", "tv": "andr-5.4.1", "tna": "appTracker", "aid": "shop-android", "p": "mob",
				"dtm": "1795175999000", "stm": "1795176000000", "uid": "u-17", "co": mobileContexts,
				"ue_pr": unstruct("iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0",
					`{"name":"ProductDetail","id":"scr-1","type":"ProductDetailActivity","previousName":"Home"}`),
			},
			want: pipeline.Event{
				MessageID: "e-2", EventTime: now.Add(-time.Second), ReceivedAt: now, Type: "screen", EventName: "ProductDetail",
				Touchpoint: "app", VisitorID: "a1b2c3d4-app-user", UserID: "u-17", LibraryName: "snowplow-andr", DeviceType: "mobile", OS: "android", WriteKey: "dev",
			},
		},
		{
			name: "iOS application foreground",
			p: params{"e": "ue", "eid": "e-3", "tv": "ios-5.4.1", "p": "mob", "co": mobileContexts,
				"ue_pr": unstruct("iglu:com.snowplowanalytics.snowplow/application_foreground/jsonschema/1-0-0", `{"foregroundIndex":2}`)},
			want: pipeline.Event{
				MessageID: "e-3", EventTime: now, ReceivedAt: now, Type: "track", EventName: "Application Opened",
				Touchpoint: "app", VisitorID: "a1b2c3d4-app-user", LibraryName: "snowplow-ios", DeviceType: "mobile", OS: "android", WriteKey: "dev",
			},
		},
		{
			name: "Node tracker: server touchpoint, the user id is the visitor",
			p:    params{"e": "se", "eid": "e-4", "tv": "node-3.21.0", "p": "srv", "uid": "u-17", "se_ca": "billing", "se_ac": "Invoice Paid", "dtm": "1795175940000"},
			want: pipeline.Event{
				MessageID: "e-4", EventTime: now.Add(-time.Minute), ReceivedAt: now, Type: "track", EventName: "Invoice Paid",
				Touchpoint: "server", VisitorID: "u-17", UserID: "u-17", LibraryName: "snowplow-node", WriteKey: "dev",
			},
		},
		{
			name: "network user id before the user id; no eid draws one",
			p:    params{"e": "pv", "tv": "py-1.0.1", "p": "pc", "nuid": "n-1", "uid": "u-17", "url": "not a url %zz"},
			want: pipeline.Event{
				EventTime: now, ReceivedAt: now, Type: "page", Touchpoint: "app", VisitorID: "n-1", UserID: "u-17",
				PageURL: "not a url %zz", LibraryName: "snowplow-py", WriteKey: "dev",
			},
		},
		{
			name: "tnuid, no platform, no tracker version",
			p:    params{"e": "pv", "eid": "e-5", "tnuid": "tn-1"},
			want: pipeline.Event{MessageID: "e-5", EventTime: now, ReceivedAt: now, Type: "page", Touchpoint: "web", VisitorID: "tn-1", LibraryName: "snowplow", WriteKey: "dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(tt.p, meta{writeKey: "dev", receivedAt: now, pingInterval: tt.ping})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.want.MessageID == "" {
				if len(got.MessageID) != 36 {
					t.Errorf("drawn message id %q", got.MessageID)
				}
				got.MessageID = ""
			}
			props := got.Properties
			got.Properties = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event\n got %+v\nwant %+v", got, tt.want)
			}
			if !json.Valid(props) {
				t.Fatalf("properties %s", props)
			}
			if tt.props != "" && !jsonEqual(t, props, tt.props) {
				t.Errorf("properties\n got %s\nwant %s", props, tt.props)
			}
		})
	}
}

func TestDecodeRefused(t *testing.T) {
	tests := []struct {
		name  string
		extra params
		error string
	}{
		{"no e", params{"e": ""}, "e: required (pv, pp, se, ue, tr or ti)"},
		{"unknown e", params{"e": "ev"}, `e: "ev" is not one of pv, pp, se, ue, tr, ti`},
		{"no id", params{"duid": ""}, errMissingID.Error()},
		{"dtm not a number", params{"dtm": "yesterday"}, `dtm: "yesterday" is not a time in milliseconds since 1970`},
		{"ttm out of range", params{"ttm": "99999999999999999"}, `ttm: "99999999999999999" is out of range`},
		{"stm far from dtm", params{"dtm": "-2208988800000", "stm": "1795176003000"}, "dtm: corrected with stm, 1899-12-31T23:59:57Z is out of range"},
		{"cx not base64", params{"cx": "!!"}, "cx: not base64: illegal base64 data at input byte 0"},
		{"co not JSON", params{"co": `{"data":[`}, "co: invalid JSON: unexpected end of JSON input"},
		{"co data not an array", params{"co": `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":{}}`}, "co: data must be an array of self-describing JSONs"},
		{"co entity without a schema", params{"co": contexts(`{"data":{}}`)}, `co: entity 0: schema "" is not an Iglu URI`},
		{"se without se_ac", params{"e": "se", "se_ca": "video"}, "se_ac: required for a structured event (e=se)"},
		{"se_va not a number", params{"e": "se", "se_ac": "play", "se_va": "lots"}, `se_va: "lots" is not a number`},
		{"tr_tt not a number", params{"e": "tr", "tr_id": "T-1", "tr_tt": "12,50"}, `tr_tt: "12,50" is not a number`},
		{"ti_qu infinite", params{"e": "ti", "ti_id": "T-1", "ti_qu": "Inf"}, `ti_qu: "Inf" is not a number`},
		{"ue without ue_pr", params{"e": "ue"}, "ue_pr or ue_px: required for a self-describing event (e=ue)"},
		{"ue_px not base64", params{"e": "ue", "ue_px": "%%%"}, "ue_px: not base64: illegal base64 data at input byte 0"},
		{"ue_pr not an object", params{"e": "ue", "ue_pr": `"x"`}, "ue_pr: must be a self-describing JSON object"},
		{"ue schema not Iglu", params{"e": "ue", "ue_pr": unstruct("com.acme/x", `{}`)}, `ue_pr: schema "com.acme/x" is not an Iglu URI (iglu:vendor/name/format/version)`},
		{"ue data not an object", params{"e": "ue", "ue_pr": unstruct("iglu:com.acme/x/jsonschema/1-0-0", `[1]`)}, "ue_pr: the data of iglu:com.acme/x/jsonschema/1-0-0 must be a JSON object"},
		{"ue envelope data not an object", params{"e": "ue", "ue_pr": `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":7}`}, "ue_pr: data must be a self-describing JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(jsEvent("pv", tt.extra), meta{writeKey: "dev", receivedAt: now})
			if err == nil || err.Error() != tt.error {
				t.Errorf("error %v, want %q", err, tt.error)
			}
		})
	}
}

// TestDataKeepsItsKeys: a self-describing event's own "snowplow" or
// "products" is not overwritten.
func TestDataKeepsItsKeys(t *testing.T) {
	p := jsEvent("ue", params{"ue_pr": unstruct("iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2",
		`{"type":"list_view","name":"search","snowplow":"mine","products":[]}`),
		"co": contexts(`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0","data":{"id":"a"}}`)})
	ev, err := decode(p, meta{writeKey: "dev", receivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventName != "Product List Viewed" || !jsonEqual(t, ev.Properties, `{"type":"list_view","name":"search","snowplow":"mine","products":[]}`) {
		t.Errorf("%s %s", ev.EventName, ev.Properties)
	}
}

func TestDecodeItem(t *testing.T) {
	// As the JavaScript tracker posts it: every value a string. Other
	// trackers have sent numbers, and contexts as objects.
	got, err := decodeItem(json.RawMessage(`{"e":"pv","dtm":1795176000000,"vid":"3","co":{"data":[]},"nuid":null,"f_pdf":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := params{"e": "pv", "dtm": "1795176000000", "vid": "3", "co": `{"data":[]}`, "f_pdf": "true"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for raw, msg := range map[string]string{
		`[1]`:      "event: must be a JSON object",
		`{"e":`:    "event: invalid JSON: unexpected end of JSON input",
		` "text" `: "event: must be a JSON object",
	} {
		if _, err := decodeItem(json.RawMessage(raw)); err == nil || err.Error() != msg {
			t.Errorf("%s: %v, want %q", raw, err, msg)
		}
	}
}

func TestDecodeBody(t *testing.T) {
	items, err := decodeBody([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv"},7]}`))
	if err != nil || len(items) != 2 || string(items[1]) != "7" {
		t.Fatalf("%q %v", items, err)
	}
	if items, err := decodeBody([]byte(`{"data":[]}`)); err != nil || len(items) != 0 {
		t.Errorf("no schema: %q %v", items, err)
	}
	for body, msg := range map[string]string{
		`[{"e":"pv"}]`: errNotPayloadData.Error(),
		`{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[]}`:     `body: schema "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0" is not payload_data`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":{}}`: errNotPayloadData.Error(),
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"}`:           errNotPayloadData.Error(),
		`{"schema":1,"data":[]}`: errNotPayloadData.Error(),
		`{"data":[`:              "body: invalid JSON: unexpected end of JSON input",
	} {
		if _, err := decodeBody([]byte(body)); err == nil || err.Error() != msg {
			t.Errorf("%s: %v, want %q", body, err, msg)
		}
	}
}

func TestLibrary(t *testing.T) {
	for tv, want := range map[string]string{
		"js-3.23.0": "snowplow-js", "andr-5.4.1": "snowplow-andr", "ios-5.4.1": "snowplow-ios", "golang-3.0.0": "snowplow-golang",
		"rn-2.1.0": "snowplow-rn", "custom": "snowplow-custom", "my-tracker": "snowplow-my-tracker", "": "snowplow", "-1": "snowplow--1",
	} {
		if got := library(tv); got != want {
			t.Errorf("library(%q) = %q, want %q", tv, got, want)
		}
	}
}

func TestTouchpoint(t *testing.T) {
	for p, want := range map[string]string{
		"web": "web", "mob": "app", "app": "app", "pc": "app", "tv": "app", "cnsl": "app", "iot": "app", "srv": "server", "": "web", "MOB": "web",
	} {
		if got := touchpoint(p); got != want {
			t.Errorf("touchpoint(%q) = %q, want %q", p, got, want)
		}
	}
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got: %v", err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}
