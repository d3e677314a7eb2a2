package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

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
	if typ != "" {
		if !json.Valid(body) {
			return nil, errors.New("body: invalid JSON")
		}
		return &segmentRequest{events: []json.RawMessage{body}}, nil
	}
	var env batchEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field == "batch" {
			return nil, errors.New("batch: must be an array")
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field == "context" {
			return nil, errors.New("context: must be an object")
		}
		return nil, fmt.Errorf("body: invalid JSON: %w", err)
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
		var e struct {
			WriteKey json.RawMessage `json:"writeKey"`
		}
		if json.Unmarshal(raw, &e) == nil {
			if k, ok := jsonString(e.WriteKey); ok && k != "" {
				return k
			}
		}
	}
	return ""
}

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
	if err := json.Unmarshal(raw, &s); err != nil {
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
