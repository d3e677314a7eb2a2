package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// decodeOptions make the JSON v2 decoder behave as encoding/json does
// (names matched case-insensitively, duplicate names with the last winning,
// invalid UTF-8 accepted and replaced in strings, json.RawMessage kept as
// written), as in processor/decode.go.
var decodeOptions = jsonv1.DefaultOptionsV1()

// validOptions make jsontext's check of a JSON text agree with
// encoding/json.Valid: invalid UTF-8 and duplicate names are accepted.
var validOptions = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

// unmarshal decodes b into v as encoding/json.Unmarshal does, with the JSON
// v2 decoder: encoding/json checks the whole text with its scanner before
// decoding and scans every raw value again, the v2 decoder reads it once.
// When the v2 decoder refuses b, v is decoded again from scratch by
// encoding/json, so that errors (and what a failed decode leaves in v) are
// exactly encoding/json's. FuzzDecodeEquivalence checks the two agree.
func unmarshal[T any](b []byte, v *T) error {
	if jsonv2.Unmarshal(b, v, decodeOptions) == nil {
		return nil
	}
	var zero T
	*v = zero
	return json.Unmarshal(b, v)
}

// segmentRequest is a decoded Segment/RudderStack HTTP API body: the raw
// events and what a batch says about all of them. Events stay raw JSON until
// normalize, so that one bad event does not spoil its siblings.
type segmentRequest struct {
	events   []json.RawMessage
	context  contextView     // batch-level context (a batch only)
	sentAt   json.RawMessage // batch-level sentAt
	writeKey string          // the body's writeKey, "" if none
}

// batchEnvelope is the top level of a batch body.
type batchEnvelope struct {
	Batch    []json.RawMessage `json:"batch"`
	Context  contextView       `json:"context"`
	SentAt   json.RawMessage   `json:"sentAt"`
	WriteKey json.RawMessage   `json:"writeKey"`
}

// batchEnvelopeNames are batchEnvelope's JSON names, in the order of its
// fields.
var batchEnvelopeNames = []string{"batch", "context", "sentAt", "writeKey"}

// read decodes the JSON object body (valid JSON) into env as
// encoding/json.Unmarshal would, without copying (see readObject): a batch
// of null is none, a context of null leaves env.Context alone, a second
// context is merged into the first. ok is false if a member has the wrong
// JSON type (batch not an array, context not an object): encoding/json
// says which.
func (env *batchEnvelope) read(body []byte) (ok bool) {
	return eachMember(body, batchEnvelopeNames, func(f int, v []byte) bool {
		switch f {
		case 0:
			if string(v) == "null" {
				env.Batch = nil
				return true
			}
			batch, isArray := readArray(v)
			env.Batch = batch
			return isArray
		case 1:
			return string(v) == "null" || env.Context.read(v)
		case 2:
			env.SentAt = v
		case 3:
			env.WriteKey = v
		}
		return true
	})
}

// rawEvent is one event with every field kept raw, so that a field of the
// wrong JSON type is reported by name instead of failing the whole decode.
type rawEvent struct {
	Type              json.RawMessage `json:"type"`
	MessageID         json.RawMessage `json:"messageId"`
	AnonymousID       json.RawMessage `json:"anonymousId"`
	UserID            json.RawMessage `json:"userId"`
	Event             json.RawMessage `json:"event"`
	Name              json.RawMessage `json:"name"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Timestamp         json.RawMessage `json:"timestamp"`
	OriginalTimestamp json.RawMessage `json:"originalTimestamp"`
	SentAt            json.RawMessage `json:"sentAt"`
	WriteKey          json.RawMessage `json:"writeKey"`
}

// rawEventNames are rawEvent's JSON names, in the order of its fields.
var rawEventNames = []string{"type", "messageId", "anonymousId", "userId", "event", "name",
	"properties", "traits", "context", "timestamp", "originalTimestamp", "sentAt", "writeKey"}

// read decodes the JSON object raw (valid JSON) into r as
// encoding/json.Unmarshal would, without copying (see readObject).
func (r *rawEvent) read(raw []byte) bool {
	return readObject(raw, rawEventNames, []*json.RawMessage{&r.Type, &r.MessageID, &r.AnonymousID, &r.UserID,
		&r.Event, &r.Name, &r.Properties, &r.Traits, &r.Context, &r.Timestamp, &r.OriginalTimestamp, &r.SentAt, &r.WriteKey})
}

// contextView holds the context keys the collector reads. Merging a batch's
// context into an event's is shallow: a key the event has wins whole.
type contextView struct {
	Page       json.RawMessage `json:"page"`
	Campaign   json.RawMessage `json:"campaign"`
	Library    json.RawMessage `json:"library"`
	Device     json.RawMessage `json:"device"`
	OS         json.RawMessage `json:"os"`
	Touchpoint json.RawMessage `json:"touchpoint"`
	Traits     json.RawMessage `json:"traits"`
	UserAgent  json.RawMessage `json:"userAgent"`
}

// contextViewNames are contextView's JSON names, in the order of its fields.
var contextViewNames = []string{"page", "campaign", "library", "device", "os", "touchpoint", "traits", "userAgent"}

// read decodes the JSON object raw (valid JSON) into c as
// encoding/json.Unmarshal would, without copying (see readObject).
func (c *contextView) read(raw []byte) bool {
	return readObject(raw, contextViewNames, []*json.RawMessage{&c.Page, &c.Campaign, &c.Library, &c.Device,
		&c.OS, &c.Touchpoint, &c.Traits, &c.UserAgent})
}

// under returns c with base's keys filled in where c has none.
func (c contextView) under(base contextView) contextView {
	fill := func(dst *json.RawMessage, src json.RawMessage) {
		if len(*dst) == 0 {
			*dst = src
		}
	}
	fill(&c.Page, base.Page)
	fill(&c.Campaign, base.Campaign)
	fill(&c.Library, base.Library)
	fill(&c.Device, base.Device)
	fill(&c.OS, base.OS)
	fill(&c.Touchpoint, base.Touchpoint)
	fill(&c.Traits, base.Traits)
	fill(&c.UserAgent, base.UserAgent)
	return c
}

var utf8BOM = []byte("\xef\xbb\xbf")

// decodeSegment parses a request body. typ is the event type the endpoint
// implies, "" for a batch. Its errors mean the body cannot be read at all.
func decodeSegment(body []byte, typ string) (*segmentRequest, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	if !isObject(body) {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, errors.New("body: empty")
		}
		return nil, errors.New("body: must be a JSON object")
	}
	valid := jsontext.Value(body).IsValid(validOptions...)
	if typ != "" {
		if !valid {
			return nil, errors.New("body: invalid JSON")
		}
		return &segmentRequest{events: []json.RawMessage{body}}, nil
	}
	// The body is checked once, here; from then on the batch, its context
	// and its events are read as slices of it, each byte once per level of
	// nesting. Only a body of the wrong shape, or invalid, goes through
	// the decoder, for its error.
	var env batchEnvelope
	if !valid || !env.read(body) {
		env = batchEnvelope{}
		err := unmarshal(body, &env)
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field == "batch" {
			return nil, errors.New("batch: must be an array")
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field == "context" {
			return nil, errors.New("context: must be an object")
		}
		if err != nil {
			return nil, fmt.Errorf("body: invalid JSON: %w", err)
		}
	}
	if env.Batch == nil {
		return nil, errors.New("batch: required")
	}
	req := &segmentRequest{events: env.Batch, context: env.Context, sentAt: env.SentAt}
	if k, ok := jsonString(env.WriteKey); ok {
		req.writeKey = k
	}
	return req, nil
}

// eventWriteKey returns the first writeKey carried by an event of the
// batch: analytics.js sends it per event when it has no Authorization.
func (r *segmentRequest) eventWriteKey() string {
	for _, raw := range r.events {
		var key json.RawMessage
		if readObject(raw, writeKeyField, []*json.RawMessage{&key}) {
			if k, ok := jsonString(key); ok && k != "" {
				return k
			}
		}
	}
	return ""
}

var writeKeyField = []string{"writeKey"}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// isObject reports whether raw holds a JSON object (judged by its first byte;
// raw is already known to be valid JSON, or is checked by the caller).
func isObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// jsonString returns raw's value if raw is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if err := unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// idString reads an identifier: a string, or a number kept as written
// (some SDKs send numeric user ids). Absent or null gives "".
func idString(raw json.RawMessage, field string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", nil
	}
	if s, ok := jsonString(raw); ok {
		return s, nil
	}
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		return string(raw), nil
	}
	return "", fmt.Errorf("%s: must be a string", field)
}

// timeLayouts are the ISO 8601 forms SDKs send: RFC 3339, a zone without a
// colon (older iOS SDKs), and no zone at all (taken as UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

// The range DateTime64(3) in ClickHouse can hold; times outside are refused.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2299, 12, 31, 23, 59, 59, 0, time.UTC)
)

// parseTime reads a time field. ok is false when it is absent or null.
func parseTime(raw json.RawMessage, field string) (t time.Time, ok bool, err error) {
	if isNull(raw) {
		return time.Time{}, false, nil
	}
	s, isStr := jsonString(raw)
	if !isStr {
		return time.Time{}, false, fmt.Errorf("%s: must be an ISO 8601 string", field)
	}
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Before(minTime) || t.After(maxTime) {
				return time.Time{}, false, fmt.Errorf("%s: %q is out of range", field, s)
			}
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%s: %q is not an ISO 8601 time", field, s)
}

// unmarshalNew is unmarshal into a new T, so that the caller's T can stay
// on its stack.
func unmarshalNew[T any](b []byte) (T, error) {
	v := new(T)
	err := unmarshal(b, v)
	return *v, err
}

// readObject reads the members of the JSON object raw into the fields vals
// whose names are names, as encoding/json decodes an object into a struct
// of json.RawMessage fields: a member matches a name exactly or by case
// folding (foldName), the last of duplicate members wins, other members
// are skipped. It does not copy: each value is a slice of raw (its capacity
// cut to its length). raw must be valid JSON, as decodeSegment leaves
// every event (it checks the whole body); readObject reads each byte once
// and does not validate. ok is false if raw is not an object or does not
// look like JSON, and then vals may hold part of raw.
func readObject(raw []byte, names []string, vals []*json.RawMessage) (ok bool) {
	return eachMember(raw, names, func(f int, v []byte) bool {
		*vals[f] = v
		return true
	})
}

// eachMember calls set with each member of the JSON object raw whose name
// matches one of names (see readObject): the index of the name and the
// value, a slice of raw. It stops when set returns false. ok is false if
// set did, or raw is not an object or does not look like JSON.
func eachMember(raw []byte, names []string, set func(f int, v []byte) bool) (ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		end := stringEnd(raw, i)
		if end < 0 {
			return false
		}
		key := raw[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			s, ok := jsonString(raw[i:end])
			if !ok {
				return false
			}
			key = []byte(s)
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		end = valueEnd(raw, i)
		if end <= i {
			return false
		}
		if f := fieldIndex(key, names); f >= 0 && !set(f, raw[i:end:end]) {
			return false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(raw, i+1)
		default:
			return false
		}
	}
}

// readArray returns the elements of the JSON array raw (valid JSON) as
// encoding/json decodes it into a []json.RawMessage (not nil, if empty),
// without copying. ok is false if raw is not an array or does not look
// like JSON.
func readArray(raw []byte) (elems []json.RawMessage, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	elems = []json.RawMessage{}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return elems, true
	}
	for {
		end := valueEnd(raw, i)
		if end <= i {
			return nil, false
		}
		elems = append(elems, raw[i:end:end])
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ']':
			return elems, true
		case ',':
			i = skipSpace(raw, i+1)
		default:
			return nil, false
		}
	}
}

// fieldIndex returns the index of the name in names that the object member
// name key matches as encoding/json matches a struct field: exactly, or
// equal under foldName (ASCII letters upper-cased, other runes to the
// smallest rune of their Unicode fold set, so that U+212A KELVIN SIGN
// matches k and U+017F LONG S matches s). names are ASCII and no two fold
// alike, so the first match is the only one. -1 if none.
func fieldIndex(key []byte, names []string) int {
	ascii := true
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for f, name := range names {
		if ascii {
			if len(key) != len(name) {
				continue
			}
			i := 0
			for i < len(key) && upperASCII(key[i]) == upperASCII(name[i]) {
				i++
			}
			if i == len(key) {
				return f
			}
			continue
		}
		if foldEqual(key, name) {
			return f
		}
	}
	return -1
}

// foldEqual reports whether encoding/json's foldName gives the same for key
// as for the ASCII name.
func foldEqual(key []byte, name string) bool {
	j := 0
	for i := 0; i < len(key); j++ {
		if j >= len(name) {
			return false
		}
		var r rune
		if c := key[i]; c < utf8.RuneSelf {
			r = rune(upperASCII(c))
			i++
		} else {
			rr, n := utf8.DecodeRune(key[i:])
			r = foldRune(rr)
			i += n
		}
		if r != rune(upperASCII(name[j])) {
			return false
		}
	}
	return j == len(name)
}

// foldRune returns the smallest rune of r's Unicode fold set, as
// encoding/json's foldRune does.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// skipSpace returns the index of the first byte of b from i on that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i]
// (a quote), or -1 if it does not end.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the JSON value starting at b[i], or
// -1 if it does not end. Strings, objects and arrays end at their closing
// quote or bracket; literals and numbers at the next delimiter.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				i-- // the loop steps past the closing quote
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}
