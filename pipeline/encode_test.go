package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// zeroEvent is the JSON of Event{}: the fields without omitempty only.
const zeroEvent = `{"message_id":"","event_time":"0001-01-01T00:00:00Z","received_at":"0001-01-01T00:00:00Z","type":"","event_name":"","touchpoint":"","visitor_id":""}`

// withField is zeroEvent with `,"name":value` before its closing brace.
func withField(kv string) string { return zeroEvent[:len(zeroEvent)-1] + "," + kv + "}" }

// checkEncoding requires got (from AppendJSON) to be want, or the error
// wantErr when it is not "", and json.Marshal(v) to give the same: the
// hand-written expectation is checked against encoding/json too.
func checkEncoding(t *testing.T, got []byte, err error, v any, want, wantErr string) {
	t.Helper()
	ref, refErr := json.Marshal(v)
	if wantErr != "" {
		if err == nil || err.Error() != wantErr {
			t.Errorf("AppendJSON error = %v, want %q (output %q)", err, wantErr, got)
		}
		if refErr == nil || refErr.Error() != wantErr {
			t.Errorf("json.Marshal error = %v, want %q: the expectation is wrong", refErr, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendJSON: %v", err)
	}
	if string(got) != want {
		t.Errorf("AppendJSON =\n%s\nwant\n%s", got, want)
	}
	if refErr != nil || string(ref) != want {
		t.Errorf("json.Marshal = %s, %v; the expectation %s is wrong", ref, refErr, want)
	}
}

func TestEventAppendJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 30, 5, 123450000, time.UTC)
	tenth, fifth := 0.1, 0.2 // variables: constants would add exactly
	tests := []struct {
		name    string
		e       Event
		want    string
		wantErr string
	}{
		{name: "zero event: omitempty fields left out", want: zeroEvent},
		{name: "plain string", e: Event{UserID: "u-1"}, want: withField(`"user_id":"u-1"`)},
		{name: "click id alone", e: Event{ClickID: "abc"}, want: withField(`"click_id":"abc"`)},
		{name: "click id type alone", e: Event{ClickIDType: "fbclid"}, want: withField(`"click_id_type":"fbclid"`)},
		{name: "quote and backslash", e: Event{UserID: `a"b\c`}, want: withField(`"user_id":"a\"b\\c"`)},
		{name: "short escapes", e: Event{UserID: "\b\f\n\r\t"}, want: withField(`"user_id":"\b\f\n\r\t"`)},
		{name: "other control characters; DEL kept", e: Event{UserID: "\x00\x01\x1f\x7f"}, want: withField(`"user_id":"\u0000\u0001\u001f` + "\x7f" + `"`)},
		{name: "HTML characters", e: Event{PageURL: "/a?b=<c>&d"}, want: withField(`"page_url":"/a?b=\u003cc\u003e\u0026d"`)},
		{name: "U+2028 and U+2029", e: Event{Referrer: "a\u2028b\u2029c"}, want: withField(`"referrer":"a\u2028b\u2029c"`)},
		{name: "valid multi-byte UTF-8 kept", e: Event{Browser: "é€😀\u2027\u202a"}, want: withField(`"browser":"é€😀` + "\u2027\u202a" + `"`)},
		{name: "invalid UTF-8 byte", e: Event{OS: "a\xffb"}, want: withField(`"os":"a\ufffdb"`)},
		{name: "truncated sequence: one replacement a byte", e: Event{OS: "a\xe2\x80"}, want: withField(`"os":"a\ufffd\ufffd"`)},
		{name: "surrogate half encoded in UTF-8", e: Event{OS: "\xed\xa0\x80"}, want: withField(`"os":"\ufffd\ufffd\ufffd"`)},
		{name: "every string field", e: Event{
			MessageID: "m", Type: "t", EventName: "n", Touchpoint: "w", VisitorID: "v", UserID: "u", SessionID: "s",
			Stage: "st", Channel: "c", UTMSource: "us", UTMMedium: "um", UTMCampaign: "uc", ClickIDType: "gclid",
			ClickID: "Cj0<&>", PageURL: "pu", PagePath: "pp",
			Referrer: "r", LibraryName: "l", DeviceType: "d", Browser: "b", OS: "o", Currency: "cu", OrderID: "oi",
			CartID: "ci", WriteKey: "wk",
		}, want: `{"message_id":"m","event_time":"0001-01-01T00:00:00Z","received_at":"0001-01-01T00:00:00Z","type":"t","event_name":"n","touchpoint":"w","visitor_id":"v","user_id":"u","session_id":"s","stage":"st","traffic_channel":"c","utm_source":"us","utm_medium":"um","utm_campaign":"uc","click_id_type":"gclid","click_id":"Cj0\u003c\u0026\u003e","page_url":"pu","page_path":"pp","referrer":"r","library_name":"l","device_type":"d","browser":"b","os":"o","currency":"cu","order_id":"oi","cart_id":"ci","write_key":"wk"}`},

		{name: "time: fraction trimmed", e: Event{EventTime: at, ReceivedAt: at.Add(877 * time.Millisecond)},
			want: `{"message_id":"","event_time":"2026-11-22T10:30:05.12345Z","received_at":"2026-11-22T10:30:06.00045Z","type":"","event_name":"","touchpoint":"","visitor_id":""}`},
		{name: "time: one nanosecond, zone offset", e: Event{EventTime: time.Date(1999, 1, 2, 3, 4, 5, 1, time.FixedZone("IST", 5*3600+1800)), ReceivedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("", -(23*3600+59*60)))},
			want: `{"message_id":"","event_time":"1999-01-02T03:04:05.000000001+05:30","received_at":"0000-01-01T00:00:00-23:59","type":"","event_name":"","touchpoint":"","visitor_id":""}`},
		{name: "time: offset seconds dropped", e: Event{EventTime: time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600+59))},
			want: `{"message_id":"","event_time":"2000-01-01T00:00:00+01:00","received_at":"0001-01-01T00:00:00Z","type":"","event_name":"","touchpoint":"","visitor_id":""}`},
		{name: "time: year 9999 last accepted", e: Event{EventTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
			want: `{"message_id":"","event_time":"9999-12-31T23:59:59.999999999Z","received_at":"0001-01-01T00:00:00Z","type":"","event_name":"","touchpoint":"","visitor_id":""}`},
		{name: "time: year 10000", e: Event{EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
			wantErr: "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"},
		{name: "time: year -1 in received_at", e: Event{ReceivedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
			wantErr: "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"},
		{name: "time: zone offset of 24 hours", e: Event{EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))},
			wantErr: "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: timezone hour outside of range [0,23]"},

		{name: "float: plain", e: Event{Revenue: 12.5}, want: withField(`"revenue":12.5`)},
		{name: "float: negative zero omitted", e: Event{Revenue: math.Copysign(0, -1)}, want: zeroEvent},
		{name: "float: integer value", e: Event{Revenue: -3}, want: withField(`"revenue":-3`)},
		{name: "float: shortest round trip", e: Event{Revenue: tenth + fifth}, want: withField(`"revenue":0.30000000000000004`)},
		{name: "float: 1e20 still plain", e: Event{Revenue: 1e20}, want: withField(`"revenue":100000000000000000000`)},
		{name: "float: 1e21 exponent", e: Event{Revenue: 1e21}, want: withField(`"revenue":1e+21`)},
		{name: "float: largest", e: Event{Revenue: math.MaxFloat64}, want: withField(`"revenue":1.7976931348623157e+308`)},
		{name: "float: 1e-6 still plain", e: Event{Revenue: 1e-6}, want: withField(`"revenue":0.000001`)},
		{name: "float: below 1e-6, one-digit exponent", e: Event{Revenue: -9.99e-7}, want: withField(`"revenue":-9.99e-7`)},
		{name: "float: two-digit exponent", e: Event{Revenue: 1e-10}, want: withField(`"revenue":1e-10`)},
		{name: "float: smallest denormal", e: Event{Revenue: 5e-324}, want: withField(`"revenue":5e-324`)},
		{name: "float: NaN", e: Event{Revenue: math.NaN()}, wantErr: "json: unsupported value: NaN"},
		{name: "float: +Inf", e: Event{Revenue: math.Inf(1)}, wantErr: "json: unsupported value: +Inf"},
		{name: "float: -Inf", e: Event{Revenue: math.Inf(-1)}, wantErr: "json: unsupported value: -Inf"},

		{name: "int: negative", e: Event{EngagementMS: -5}, want: withField(`"engagement_time_msec":-5`)},
		{name: "int: largest", e: Event{EngagementMS: math.MaxInt64}, want: withField(`"engagement_time_msec":9223372036854775807`)},

		{name: "raw: empty omitted", e: Event{Properties: json.RawMessage{}}, want: zeroEvent},
		{name: "raw: compacted", e: Event{Properties: json.RawMessage(" {\n\t\"a\" : [ 1 , -2.5e+3 , true,false , null ,{ } ,[ ] ], \"b\":\"x y\"\r} ")},
			want: withField(`"properties":{"a":[1,-2.5e+3,true,false,null,{},[]],"b":"x y"}`)},
		{name: "raw: scalar", e: Event{Properties: json.RawMessage(` null `)}, want: withField(`"properties":null`)},
		{name: "raw: HTML and separators escaped, escapes kept", e: Event{Properties: json.RawMessage(`{"<a>":"&\u2028` + "\u2028\u2029" + `\n\"\/"}`)},
			want: withField(`"properties":{"\u003ca\u003e":"\u0026\u2028\u2028\u2029\n\"\/"}`)},
		{name: "raw: invalid UTF-8 kept as is", e: Event{Properties: json.RawMessage("\"\xff\xe2\x80\"")}, want: withField("\"properties\":\"\xff\xe2\x80\"")},
		{name: "raw: nesting deeper than the fast path", e: Event{Properties: json.RawMessage(strings.Repeat("[", 150) + " <" + strings.Repeat("]", 150))},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '<' looking for beginning of value"},
		{name: "raw: valid, deeper than the fast path", e: Event{Properties: json.RawMessage(strings.Repeat("[ ", 150) + `"<"` + strings.Repeat(" ]", 150))},
			want: withField(`"properties":` + strings.Repeat("[", 150) + `"\u003c"` + strings.Repeat("]", 150))},
		{name: "raw: beyond encoding/json's depth limit", e: Event{Properties: json.RawMessage(strings.Repeat("[", 10001) + strings.Repeat("]", 10001))},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '[' exceeded max depth"},
		{name: "raw: missing value", e: Event{Properties: json.RawMessage(`{"a":}`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '}' looking for beginning of value"},
		{name: "raw: two values", e: Event{Properties: json.RawMessage(`01`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '1' after top-level value"},
		{name: "raw: only space", e: Event{Properties: json.RawMessage(" \n")},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: unexpected end of JSON input"},
		{name: "raw: control character in a string", e: Event{Properties: json.RawMessage("\"a\tb\"")},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '\\t' in string literal"},
		{name: "raw: bad escape", e: Event{Properties: json.RawMessage(`"\x"`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character 'x' in string escape code"},
		{name: "raw: short \\u escape", e: Event{Properties: json.RawMessage(`"\u12"`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '\"' in \\u hexadecimal character escape"},
		{name: "raw: number without digits after the point", e: Event{Properties: json.RawMessage(`[1.]`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character ']' after decimal point in numeric literal"},
		{name: "raw: trailing comma", e: Event{Properties: json.RawMessage(`{"a":1,}`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character '}' looking for beginning of object key string"},
		{name: "raw: misspelt literal", e: Event{Properties: json.RawMessage(`[nul]`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: invalid character ']' in literal null (expecting 'l')"},
		{name: "raw: unterminated", e: Event{Properties: json.RawMessage(`{"a":"b`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.e.AppendJSON(nil)
			checkEncoding(t, got, err, &tt.e, tt.want, tt.wantErr)
		})
	}
}

func TestRejectedAppendJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 30, 5, 0, time.UTC)
	tests := []struct {
		name    string
		r       Rejected
		want    string
		wantErr string
	}{
		{name: "zero", want: `{"received_at":"0001-01-01T00:00:00Z","source":"","index":0,"error":""}`},
		{name: "whole request", r: Rejected{ReceivedAt: at, Source: "/v1/batch", WriteKey: "k<1>", Index: -1, Error: `invalid "json"`, Payload: json.RawMessage(`{ "a" : "<b>" }`)},
			want: `{"received_at":"2026-11-22T10:30:05Z","source":"/v1/batch","write_key":"k\u003c1\u003e","index":-1,"error":"invalid \"json\"","payload":{"a":"\u003cb\u003e"}}`},
		{name: "bad payload", r: Rejected{Index: 3, Payload: json.RawMessage(`{"a"`)},
			wantErr: "json: error calling MarshalJSON for type json.RawMessage: unexpected end of JSON input"},
		{name: "bad time", r: Rejected{ReceivedAt: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
			wantErr: "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.AppendJSON(nil)
			checkEncoding(t, got, err, &tt.r, tt.want, tt.wantErr)
		})
	}
}

// TestAppendJSONAppends checks that AppendJSON keeps what b holds and, on
// error, gives it back as it was.
func TestAppendJSONAppends(t *testing.T) {
	e := Event{MessageID: "m", Revenue: 2, Properties: json.RawMessage(`{"a":1}`)}
	want := `prefix{"message_id":"m","event_time":"0001-01-01T00:00:00Z","received_at":"0001-01-01T00:00:00Z","type":"","event_name":"","touchpoint":"","visitor_id":"","revenue":2,"properties":{"a":1}}`
	got, err := e.AppendJSON([]byte("prefix"))
	if err != nil || string(got) != want {
		t.Fatalf("AppendJSON = %s, %v; want %s", got, err, want)
	}
	for _, bad := range []Event{
		{Properties: json.RawMessage(`{"a":1`)},
		{Revenue: math.NaN()},
		{EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := bad.AppendJSON([]byte("prefix"))
		if err == nil || string(got) != "prefix" {
			t.Errorf("AppendJSON of a bad event = %q, %v; want \"prefix\" and an error", got, err)
		}
	}
	r := Rejected{ReceivedAt: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)}
	if got, err := r.AppendJSON([]byte("prefix")); err == nil || string(got) != "prefix" {
		t.Errorf("Rejected.AppendJSON of a bad time = %q, %v; want \"prefix\" and an error", got, err)
	}
}

// TestFieldListsMatchTags fails when a field of Event or Rejected is added,
// removed, renamed, retagged or retyped without the encoder's lists (and
// so the encoder) following.
func TestFieldListsMatchTags(t *testing.T) {
	for _, tc := range []struct {
		typ    reflect.Type
		fields []jsonField
	}{
		{reflect.TypeFor[Event](), eventFields},
		{reflect.TypeFor[Rejected](), rejectedFields},
	} {
		var tags []jsonField
		for f := range tc.typ.Fields() {
			tag, ok := f.Tag.Lookup("json")
			if !ok || !f.IsExported() || tag == "-" {
				t.Errorf("%s.%s: no json tag, unexported or skipped; the encoder handles only tagged exported fields", tc.typ, f.Name)
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if opts != "" && opts != "omitempty" {
				t.Errorf("%s.%s: tag options %q; the encoder knows only omitempty", tc.typ, f.Name, opts)
			}
			tags = append(tags, jsonField{name, opts == "omitempty", f.Type.String()})
		}
		if !reflect.DeepEqual(tags, tc.fields) {
			t.Errorf("%s: struct tags\n%v\nencoder's list\n%v", tc.typ, tags, tc.fields)
		}
	}
}

// fillFields sets every field of the struct v points to to a non-zero
// value of its type (strings with an HTML character), so that the JSON
// holds every field.
func fillFields(t *testing.T, v any) {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		name := rv.Type().Field(i).Name
		switch f.Interface().(type) {
		case string:
			f.SetString(name + "<" + string(rune('a'+i)))
		case time.Time:
			f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, i, 5000*i, time.UTC)))
		case float64:
			f.SetFloat(1.25 * float64(i))
		case int64, int:
			f.SetInt(int64(-i))
		case json.RawMessage:
			f.SetBytes([]byte(`{ "` + name + `" : [ ` + string(rune('0'+i%10)) + ` ] }`))
		default:
			t.Fatalf("field %s of type %s: fillFields does not know it", name, f.Type())
		}
	}
}

// TestAppendJSONEveryField encodes values with every field set: the bytes
// must be json.Marshal's and the keys those of the field list, in order.
func TestAppendJSONEveryField(t *testing.T) {
	var e Event
	fillFields(t, &e)
	got, err := e.AppendJSON(nil)
	checkFullyKeyed(t, got, err, &e, eventFields)
	var r Rejected
	fillFields(t, &r)
	got, err = r.AppendJSON(nil)
	checkFullyKeyed(t, got, err, &r, rejectedFields)
}

func checkFullyKeyed(t *testing.T, got []byte, err error, v any, fields []jsonField) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	if err != nil || wantErr != nil {
		t.Fatalf("AppendJSON: %v; json.Marshal: %v", err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("AppendJSON =\n%s\njson.Marshal =\n%s", got, want)
	}
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys, wantKeys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fields {
		wantKeys = append(wantKeys, f.name)
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("keys %v, want %v", keys, wantKeys)
	}
}

// FuzzAppendJSON requires Event.AppendJSON and Rejected.AppendJSON to give
// exactly json.Marshal's bytes, or the same error, for any strings, times
// (any instant, nanoseconds and zone offset), floats, integers and raw
// JSON; appended to a prefix, which must survive.
func FuzzAppendJSON(f *testing.F) {
	f.Add("m-1", "anon-1", "Product <Added> & more", int64(1763807405), int64(123456789), int32(0), 12.5, int64(3000), []byte(`{"sku":"a", "price": 12}`), uint16(0xffff))
	f.Add("\xff\xfe", "\u2028\u2029", "\x00\x1f\"\\\t", int64(253402300800), int64(0), int32(3600), math.NaN(), int64(-1), []byte(" [1, 2.5e-3, \"\xff\"] "), uint16(0x5555))
	f.Add("", "", "", int64(-62135596801), int64(-1), int32(-86400), math.Inf(-1), int64(0), []byte(`{"a":}`), uint16(0))
	f.Add("a", "b", "c", int64(0), int64(999999999), int32(24*3600), 1e21, int64(math.MinInt64), []byte("\"a\u2028<>&\\u0041\""), uint16(0xaaaa))
	f.Add("x", "y", "z", int64(1<<40), int64(1), int32(59), 9.99e-7, int64(7), []byte(`[[[[{"deep":[true,false,null]}]]]]`), uint16(0x1234))
	f.Add("p", "q", "r", int64(0), int64(0), int32(0), -0.0, int64(0), []byte(`-0.0e+00`), uint16(0x8000))
	f.Fuzz(func(t *testing.T, s1, s2, s3 string, sec, nsec int64, offset int32, revenue float64, n int64, raw []byte, mask uint16) {
		zone := time.FixedZone("", int(offset))
		at := time.Unix(sec, nsec).In(zone)
		// Each optional string field gets one of the strings or none,
		// two bits of mask per field, cycling over the mask.
		pick := func(i int) string {
			switch (mask >> (2 * (i % 8))) & 3 {
			case 1:
				return s1
			case 2:
				return s2
			case 3:
				return s3
			}
			return ""
		}
		e := Event{
			MessageID: s1, EventTime: at, ReceivedAt: time.Unix(0, n).UTC(), Type: s2, EventName: s3,
			Touchpoint: pick(0), VisitorID: s2, UserID: pick(1), SessionID: pick(2), Stage: pick(3),
			Channel: pick(4), UTMSource: pick(5), UTMMedium: pick(6), UTMCampaign: pick(7), PageURL: pick(8),
			PagePath: pick(9), Referrer: pick(10), LibraryName: pick(11), DeviceType: pick(12), Browser: pick(13),
			OS: pick(14), Revenue: revenue, Currency: pick(15), OrderID: pick(16), CartID: pick(17),
			EngagementMS: n, Properties: raw, WriteKey: pick(18), ClickIDType: pick(20), ClickID: pick(21),
		}
		got, err := e.AppendJSON([]byte("prefix"))
		compareMarshal(t, &e, got, err)
		r := Rejected{ReceivedAt: at, Source: s3, WriteKey: pick(19), Index: int(n), Error: s1, Payload: raw}
		got, err = r.AppendJSON([]byte("prefix"))
		compareMarshal(t, &r, got, err)
	})
}

func compareMarshal(t *testing.T, v any, got []byte, err error) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	after, ok := bytes.CutPrefix(got, []byte("prefix"))
	switch {
	case !ok:
		t.Fatalf("prefix lost: %q", got)
	case (err == nil) != (wantErr == nil):
		t.Fatalf("AppendJSON error %v, json.Marshal error %v", err, wantErr)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("AppendJSON error %q, json.Marshal error %q", err, wantErr)
	case err != nil && len(after) != 0:
		t.Fatalf("AppendJSON failed (%v) but appended %q", err, after)
	case err != nil:
		var me *json.MarshalerError
		var ue *json.UnsupportedValueError
		if !errors.As(err, &me) && !errors.As(err, &ue) {
			t.Fatalf("AppendJSON error %T, json.Marshal's %T", err, wantErr)
		}
	case !bytes.Equal(after, want):
		t.Fatalf("AppendJSON =\n%q\njson.Marshal =\n%q", after, want)
	}
}

// benchEvent is an event shaped as bench/collector_test.go's: a Segment
// track event from analytics.js with a product's properties.
func benchEvent() Event {
	at := time.Date(2026, 11, 22, 10, 30, 5, 123456789, time.UTC)
	return Event{
		MessageID: "bench-12-34-0123456789abcdef", EventTime: at, ReceivedAt: at.Add(3 * time.Millisecond),
		Type: TypeTrack, EventName: EventProductAdded, Touchpoint: TouchpointWeb, VisitorID: "anon-00001234",
		Channel: "Paid Search", UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "spring_sale",
		PageURL: "https://shop.example.com/products/sku-123", PagePath: "/products/sku-123",
		Referrer: "https://www.google.com/", LibraryName: "analytics.js", DeviceType: "desktop",
		Browser: "Chrome", OS: "Windows", Currency: "USD", CartID: "cart-anon-00001234",
		Properties: json.RawMessage(`{"cart_id":"cart-anon-00001234","currency":"USD","price":42,"product_id":"sku-123"}`),
		WriteKey:   "bench-key",
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := benchEvent()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = e.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkMarshal(b *testing.B) {
	e := benchEvent()
	var n int
	b.ReportAllocs()
	for b.Loop() {
		v, err := json.Marshal(&e)
		if err != nil {
			b.Fatal(err)
		}
		n = len(v)
	}
	b.SetBytes(int64(n))
}
