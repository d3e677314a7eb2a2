package pipeline

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the JSON of e to b: exactly the bytes json.Marshal(e)
// gives (field order and names from the struct tags, omitempty, HTML-safe
// strings with invalid UTF-8 replaced by U+FFFD, times as
// time.Time.MarshalJSON, floats as encoding/json formats them, Properties
// compacted), without reflection. It fails where json.Marshal fails, with
// the same error: a time whose year is outside [0,9999] or whose zone
// offset is not representable, a NaN or infinite Revenue, Properties that
// are not valid JSON. On error, b is returned unchanged up to its length
// (its spare capacity may have been written).
//
// eventFields lists the fields it writes; a test checks the list against
// the struct tags, so a field added to Event without the encoder fails it.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	n0 := len(b)
	var err error
	b = append(b, `{"message_id":`...)
	b = appendString(b, e.MessageID)
	b = append(b, `,"event_time":`...)
	if b, err = appendTime(b, e.EventTime); err != nil {
		return b[:n0], err
	}
	b = append(b, `,"received_at":`...)
	if b, err = appendTime(b, e.ReceivedAt); err != nil {
		return b[:n0], err
	}
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"event_name":`...)
	b = appendString(b, e.EventName)
	b = append(b, `,"touchpoint":`...)
	b = appendString(b, e.Touchpoint)
	b = append(b, `,"visitor_id":`...)
	b = appendString(b, e.VisitorID)
	b = appendOptString(b, `,"user_id":`, e.UserID)
	b = appendOptString(b, `,"session_id":`, e.SessionID)
	b = appendOptString(b, `,"stage":`, e.Stage)
	b = appendOptString(b, `,"traffic_channel":`, e.Channel)
	b = appendOptString(b, `,"utm_source":`, e.UTMSource)
	b = appendOptString(b, `,"utm_medium":`, e.UTMMedium)
	b = appendOptString(b, `,"utm_campaign":`, e.UTMCampaign)
	b = appendOptString(b, `,"click_id_type":`, e.ClickIDType)
	b = appendOptString(b, `,"click_id":`, e.ClickID)
	b = appendOptString(b, `,"page_url":`, e.PageURL)
	b = appendOptString(b, `,"page_path":`, e.PagePath)
	b = appendOptString(b, `,"referrer":`, e.Referrer)
	b = appendOptString(b, `,"library_name":`, e.LibraryName)
	b = appendOptString(b, `,"device_type":`, e.DeviceType)
	b = appendOptString(b, `,"browser":`, e.Browser)
	b = appendOptString(b, `,"os":`, e.OS)
	if e.Revenue != 0 { // -0 too, as omitempty
		b = append(b, `,"revenue":`...)
		if b, err = appendFloat(b, e.Revenue); err != nil {
			return b[:n0], err
		}
	}
	b = appendOptString(b, `,"currency":`, e.Currency)
	b = appendOptString(b, `,"order_id":`, e.OrderID)
	b = appendOptString(b, `,"cart_id":`, e.CartID)
	if e.EngagementMS != 0 {
		b = append(b, `,"engagement_time_msec":`...)
		b = strconv.AppendInt(b, e.EngagementMS, 10)
	}
	if len(e.Properties) > 0 {
		b = append(b, `,"properties":`...)
		if b, err = appendRaw(b, e.Properties); err != nil {
			return b[:n0], err
		}
	}
	b = appendOptString(b, `,"write_key":`, e.WriteKey)
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of r to b: exactly the bytes json.Marshal(r)
// gives, with the same errors (see Event.AppendJSON). rejectedFields
// lists the fields it writes.
func (r *Rejected) AppendJSON(b []byte) ([]byte, error) {
	n0 := len(b)
	var err error
	b = append(b, `{"received_at":`...)
	if b, err = appendTime(b, r.ReceivedAt); err != nil {
		return b[:n0], err
	}
	b = append(b, `,"source":`...)
	b = appendString(b, r.Source)
	b = appendOptString(b, `,"write_key":`, r.WriteKey)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(r.Index), 10)
	b = append(b, `,"error":`...)
	b = appendString(b, r.Error)
	if len(r.Payload) > 0 {
		b = append(b, `,"payload":`...)
		if b, err = appendRaw(b, r.Payload); err != nil {
			return b[:n0], err
		}
	}
	return append(b, '}'), nil
}

// jsonField is one field an AppendJSON writes, as its struct tag says:
// the JSON name, whether it is omitted when empty, and the Go type.
type jsonField struct {
	name      string
	omitEmpty bool
	goType    string // reflect.Type.String()
}

// eventFields are the fields Event.AppendJSON writes, in order.
var eventFields = []jsonField{
	{"message_id", false, "string"},
	{"event_time", false, "time.Time"},
	{"received_at", false, "time.Time"},
	{"type", false, "string"},
	{"event_name", false, "string"},
	{"touchpoint", false, "string"},
	{"visitor_id", false, "string"},
	{"user_id", true, "string"},
	{"session_id", true, "string"},
	{"stage", true, "string"},
	{"traffic_channel", true, "string"},
	{"utm_source", true, "string"},
	{"utm_medium", true, "string"},
	{"utm_campaign", true, "string"},
	{"click_id_type", true, "string"},
	{"click_id", true, "string"},
	{"page_url", true, "string"},
	{"page_path", true, "string"},
	{"referrer", true, "string"},
	{"library_name", true, "string"},
	{"device_type", true, "string"},
	{"browser", true, "string"},
	{"os", true, "string"},
	{"revenue", true, "float64"},
	{"currency", true, "string"},
	{"order_id", true, "string"},
	{"cart_id", true, "string"},
	{"engagement_time_msec", true, "int64"},
	{"properties", true, "json.RawMessage"},
	{"write_key", true, "string"},
}

// rejectedFields are the fields Rejected.AppendJSON writes, in order.
var rejectedFields = []jsonField{
	{"received_at", false, "time.Time"},
	{"source", false, "string"},
	{"write_key", true, "string"},
	{"index", false, "int"},
	{"error", false, "string"},
	{"payload", true, "json.RawMessage"},
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hexDigits = "0123456789abcdef"

// htmlSafe[c] is true for the ASCII bytes a JSON string holds as they are
// under encoding/json's HTML escaping: not a control character, '"', '\\',
// '<', '>' or '&'. Bytes from 0x80 are false: they start a UTF-8 sequence.
var htmlSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, as encoding/json does with
// HTML escaping (its appendString): short escapes for \" \\ \b \f \n \r
// \t, \u00XX for the other control characters and < > &, \u2028 and
// \u2029 escaped, each invalid UTF-8 byte replaced by \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if htmlSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// appendTime appends t quoted, as time.Time.MarshalJSON writes it (RFC
// 3339, trailing zeros of the fraction trimmed). A time MarshalJSON
// refuses is the *json.MarshalerError json.Marshal would give.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	out, err := t.AppendText(b)
	if err != nil {
		_, err = t.MarshalJSON() // for its own error text
		return b, &json.MarshalerError{Type: timeType, Err: err}
	}
	return append(out, '"'), nil
}

// appendFloat appends f as encoding/json writes a float64: the shortest
// representation, in exponent form below 1e-6 and from 1e21 (exponent
// without a leading zero). NaN and infinities are the
// *json.UnsupportedValueError json.Marshal gives.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-6 && abs < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

// appendRaw appends raw JSON as json.Marshal writes a json.RawMessage:
// compacted (whitespace outside strings dropped), with <, >, &, U+2028
// and U+2029 escaped, everything else as it is (invalid UTF-8 included).
// Text that is not valid JSON is the *json.MarshalerError json.Marshal
// gives. The fast path checks and copies in one pass; whatever it does not
// take (an error, nesting deeper than maxRawDepth) goes through
// json.Compact and json.HTMLEscape, encoding/json's own code.
func appendRaw(b []byte, raw []byte) ([]byte, error) {
	n0 := len(b)
	c := rawCompactor{src: raw, dst: b}
	c.space()
	if c.value(0) {
		c.space()
		if c.i == len(raw) {
			return c.dst, nil
		}
	}
	b = c.dst[:n0]
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return b, &json.MarshalerError{Type: rawType, Err: err}
	}
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, compact.Bytes())
	return append(b, escaped.Bytes()...), nil
}

// maxRawDepth bounds the nesting appendRaw's fast path follows; deeper
// text goes the slow way, where encoding/json applies its own limit.
const maxRawDepth = 100

// rawCompactor checks and compacts src into dst, one value at a time; each
// method reports false at the first thing it does not accept, leaving dst
// and i anywhere.
type rawCompactor struct {
	src []byte
	i   int
	dst []byte
}

func (c *rawCompactor) space() {
	for c.i < len(c.src) {
		switch c.src[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *rawCompactor) value(depth int) bool {
	if c.i >= len(c.src) {
		return false
	}
	switch ch := c.src[c.i]; {
	case ch == '"':
		return c.str()
	case ch == '{':
		return c.object(depth + 1)
	case ch == '[':
		return c.array(depth + 1)
	case ch == '-' || ('0' <= ch && ch <= '9'):
		return c.number()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	}
	return false
}

func (c *rawCompactor) literal(lit string) bool {
	if end := c.i + len(lit); end > len(c.src) || string(c.src[c.i:end]) != lit {
		return false
	}
	c.dst = append(c.dst, lit...)
	c.i += len(lit)
	return true
}

func (c *rawCompactor) object(depth int) bool {
	if depth > maxRawDepth {
		return false
	}
	c.dst = append(c.dst, '{')
	c.i++
	c.space()
	if c.i < len(c.src) && c.src[c.i] == '}' {
		c.dst = append(c.dst, '}')
		c.i++
		return true
	}
	for {
		if c.i >= len(c.src) || c.src[c.i] != '"' || !c.str() {
			return false
		}
		c.space()
		if c.i >= len(c.src) || c.src[c.i] != ':' {
			return false
		}
		c.dst = append(c.dst, ':')
		c.i++
		c.space()
		if !c.value(depth) {
			return false
		}
		c.space()
		if c.i >= len(c.src) {
			return false
		}
		switch c.src[c.i] {
		case ',':
			c.dst = append(c.dst, ',')
			c.i++
			c.space()
		case '}':
			c.dst = append(c.dst, '}')
			c.i++
			return true
		default:
			return false
		}
	}
}

func (c *rawCompactor) array(depth int) bool {
	if depth > maxRawDepth {
		return false
	}
	c.dst = append(c.dst, '[')
	c.i++
	c.space()
	if c.i < len(c.src) && c.src[c.i] == ']' {
		c.dst = append(c.dst, ']')
		c.i++
		return true
	}
	for {
		if !c.value(depth) {
			return false
		}
		c.space()
		if c.i >= len(c.src) {
			return false
		}
		switch c.src[c.i] {
		case ',':
			c.dst = append(c.dst, ',')
			c.i++
			c.space()
		case ']':
			c.dst = append(c.dst, ']')
			c.i++
			return true
		default:
			return false
		}
	}
}

// str copies the string at i (its opening quote), escaping <, >, & and
// U+2028/U+2029 as encoding/json's compact does; other bytes, invalid
// UTF-8 included, are copied as they are. Control characters and bad
// escapes are refused.
func (c *rawCompactor) str() bool {
	src := c.src
	c.i++
	start := c.i - 1
	for c.i < len(src) {
		ch := src[c.i]
		switch {
		case ch == '"':
			c.i++
			c.dst = append(c.dst, src[start:c.i]...)
			return true
		case ch == '\\':
			if c.i+1 >= len(src) {
				return false
			}
			switch src[c.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i += 2
			case 'u':
				if c.i+6 > len(src) {
					return false
				}
				for _, h := range src[c.i+2 : c.i+6] {
					if !isHex(h) {
						return false
					}
				}
				c.i += 6
			default:
				return false
			}
		case ch < 0x20:
			return false
		case ch == '<' || ch == '>' || ch == '&':
			c.dst = append(c.dst, src[start:c.i]...)
			c.dst = append(c.dst, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&0xF])
			c.i++
			start = c.i
		case ch == 0xE2 && c.i+2 < len(src) && src[c.i+1] == 0x80 && src[c.i+2]&^1 == 0xA8:
			c.dst = append(c.dst, src[start:c.i]...)
			c.dst = append(c.dst, '\\', 'u', '2', '0', '2', hexDigits[src[c.i+2]&0xF])
			c.i += 3
			start = c.i
		default:
			c.i++
		}
	}
	return false
}

func isHex(h byte) bool {
	return '0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F'
}

// number copies the number at i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *rawCompactor) number() bool {
	src, i := c.src, c.i
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && '1' <= src[i] && src[i] <= '9':
		i = digits(src, i)
	default:
		return false
	}
	if i < len(src) && src[i] == '.' {
		i++
		j := digits(src, i)
		if j == i {
			return false
		}
		i = j
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := digits(src, i)
		if j == i {
			return false
		}
		i = j
	}
	c.dst = append(c.dst, src[c.i:i]...)
	c.i = i
	return true
}

func digits(src []byte, i int) int {
	for i < len(src) && '0' <= src[i] && src[i] <= '9' {
		i++
	}
	return i
}
