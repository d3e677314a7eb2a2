package collector

// This file keeps the collector's Segment decoding as it was before the
// speed-ups (encoding/json, each event decoded into several views) as the
// reference of FuzzDecodeEquivalence. Do not edit it to follow changes of
// segment.go and normalize.go: it is what they must keep agreeing with.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	devicepkg "github.com/touchstream/touchstream/device"
	"github.com/touchstream/touchstream/pipeline"
)

// refSegmentRequest is a decoded Segment/RudderStack HTTP API body: the raw
// events and what a batch says about all of them. Events stay raw JSON until
// refNormalize, so that one bad event does not spoil its siblings.
type refSegmentRequest struct {
	events   []json.RawMessage
	context  refContextView  // batch-level context (a batch only)
	sentAt   json.RawMessage // batch-level sentAt
	writeKey string          // the body's writeKey, "" if none
}

// refBatchEnvelope is the top level of a batch body.
type refBatchEnvelope struct {
	Batch    []json.RawMessage `json:"batch"`
	Context  refContextView    `json:"context"`
	SentAt   json.RawMessage   `json:"sentAt"`
	WriteKey json.RawMessage   `json:"writeKey"`
}

// refRawEvent is one event with every field kept raw, so that a field of the
// wrong JSON type is reported by name instead of failing the whole decode.
type refRawEvent struct {
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

// refContextView holds the context keys the collector reads. Merging a batch's
// context into an event's is shallow: a key the event has wins whole.
type refContextView struct {
	Page       json.RawMessage `json:"page"`
	Campaign   json.RawMessage `json:"campaign"`
	Library    json.RawMessage `json:"library"`
	Device     json.RawMessage `json:"device"`
	OS         json.RawMessage `json:"os"`
	Touchpoint json.RawMessage `json:"touchpoint"`
	Traits     json.RawMessage `json:"traits"`
	UserAgent  json.RawMessage `json:"userAgent"`
}

// under returns c with base's keys filled in where c has none.
func (c refContextView) under(base refContextView) refContextView {
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

var refUtf8BOM = []byte("\xef\xbb\xbf")

// refDecodeSegment parses a request body. typ is the event type the endpoint
// implies, "" for a batch. Its errors mean the body cannot be read at all.
func refDecodeSegment(body []byte, typ string) (*refSegmentRequest, error) {
	body = bytes.TrimPrefix(body, refUtf8BOM)
	if !refIsObject(body) {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, errors.New("body: empty")
		}
		return nil, errors.New("body: must be a JSON object")
	}
	if typ != "" {
		if !json.Valid(body) {
			return nil, errors.New("body: invalid JSON")
		}
		return &refSegmentRequest{events: []json.RawMessage{body}}, nil
	}
	var env refBatchEnvelope
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
	req := &refSegmentRequest{events: env.Batch, context: env.Context, sentAt: env.SentAt}
	if k, ok := refJsonString(env.WriteKey); ok {
		req.writeKey = k
	}
	return req, nil
}

// eventWriteKey returns the first writeKey carried by an event of the
// batch: analytics.js sends it per event when it has no Authorization.
func (r *refSegmentRequest) eventWriteKey() string {
	for _, raw := range r.events {
		var e struct {
			WriteKey json.RawMessage `json:"writeKey"`
		}
		if json.Unmarshal(raw, &e) == nil {
			if k, ok := refJsonString(e.WriteKey); ok && k != "" {
				return k
			}
		}
	}
	return ""
}

// refIsNull reports whether raw is absent or JSON null.
func refIsNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// refIsObject reports whether raw holds a JSON object (judged by its first byte;
// raw is already known to be valid JSON, or is checked by the caller).
func refIsObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// refJsonString returns raw's value if raw is a JSON string.
func refJsonString(raw json.RawMessage) (string, bool) {
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

// refIdString reads an identifier: a string, or a refNumber kept as written
// (some SDKs send numeric user ids). Absent or null gives "".
func refIdString(raw json.RawMessage, field string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if refIsNull(raw) {
		return "", nil
	}
	if s, ok := refJsonString(raw); ok {
		return s, nil
	}
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		return string(raw), nil
	}
	return "", fmt.Errorf("%s: must be a string", field)
}

// refTimeLayouts are the ISO 8601 forms SDKs send: RFC 3339, a zone without a
// colon (older iOS SDKs), and no zone at all (taken as UTC).
var refTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

// The range DateTime64(3) in ClickHouse can hold; times outside are refused.
var (
	refMinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	refMaxTime = time.Date(2299, 12, 31, 23, 59, 59, 0, time.UTC)
)

// refParseTime reads a time field. ok is false when it is absent or null.
func refParseTime(raw json.RawMessage, field string) (t time.Time, ok bool, err error) {
	if refIsNull(raw) {
		return time.Time{}, false, nil
	}
	s, isStr := refJsonString(raw)
	if !isStr {
		return time.Time{}, false, fmt.Errorf("%s: must be an ISO 8601 string", field)
	}
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range refTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Before(refMinTime) || t.After(refMaxTime) {
				return time.Time{}, false, fmt.Errorf("%s: %q is out of range", field, s)
			}
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%s: %q is not an ISO 8601 time", field, s)
}

// refBatchMeta is what refNormalize needs besides the event itself.
type refBatchMeta struct {
	typ        string          // the type the endpoint implies, "" for a batch
	context    refContextView  // the batch's context
	sentAt     json.RawMessage // the batch's sentAt
	receivedAt time.Time       // UTC, millisecond precision
	writeKey   string
}

// refPropsView holds the properties the collector maps to columns.
type refPropsView struct {
	URL          json.RawMessage `json:"url"`
	Path         json.RawMessage `json:"path"`
	Referrer     json.RawMessage `json:"referrer"`
	Revenue      json.RawMessage `json:"revenue"`
	Total        json.RawMessage `json:"total"`
	Currency     json.RawMessage `json:"currency"`
	OrderID      json.RawMessage `json:"order_id"`
	OrderIDCamel json.RawMessage `json:"orderId"`
	CartID       json.RawMessage `json:"cart_id"`
	CartIDCamel  json.RawMessage `json:"cartId"`
	Engagement   json.RawMessage `json:"engagement_time_msec"`
	Touchpoint   json.RawMessage `json:"touchpoint"`
}

// refNormalize maps one Segment event to the canonical pipeline.Event, or says
// why it cannot be accepted. It does no I/O; the clock comes in as
// m.receivedAt.
func refNormalize(raw json.RawMessage, m *refBatchMeta) (pipeline.Event, *eventError) {
	var ev pipeline.Event
	if !refIsObject(raw) {
		return ev, refuse(reasonMalformed, "event: must be a JSON object")
	}
	var r refRawEvent
	if err := json.Unmarshal(raw, &r); err != nil {
		return ev, refuse(reasonMalformed, "event: invalid JSON: %v", err)
	}

	// Type: the endpoint's, else the event's own.
	ev.Type = m.typ
	if ev.Type == "" {
		t, ok := refJsonString(r.Type)
		if !ok || t == "" {
			return ev, refuse(reasonType, "type: required (track, page, screen, identify, group or alias)")
		}
		ev.Type = strings.ToLower(t)
		if !eventTypes[ev.Type] {
			return ev, refuse(reasonType, "type: %q is not one of track, page, screen, identify, group, alias", t)
		}
	}

	// Identity.
	var err error
	if ev.MessageID, err = refIdString(r.MessageID, "messageId"); err != nil {
		return ev, refuse(reasonMalformed, "%v", err)
	}
	if ev.MessageID == "" {
		ev.MessageID = uuid.NewString()
	}
	anon, err := refIdString(r.AnonymousID, "anonymousId")
	if err != nil {
		return ev, refuse(reasonMalformed, "%v", err)
	}
	if ev.UserID, err = refIdString(r.UserID, "userId"); err != nil {
		return ev, refuse(reasonMalformed, "%v", err)
	}
	ev.VisitorID = anon
	if ev.VisitorID == "" {
		ev.VisitorID = ev.UserID
	}
	if ev.VisitorID == "" {
		return ev, refuse(reasonMissingID, "anonymousId or userId is required")
	}

	// Name.
	switch ev.Type {
	case pipeline.TypeTrack:
		if !refIsNull(r.Event) {
			name, ok := refJsonString(r.Event)
			if !ok {
				return ev, refuse(reasonMalformed, "event: must be a string")
			}
			ev.EventName = name
		}
		if ev.EventName == "" {
			return ev, refuse(reasonMissingEvent, "event: required for a track call")
		}
	case pipeline.TypePage, pipeline.TypeScreen:
		if !refIsNull(r.Name) {
			name, ok := refJsonString(r.Name)
			if !ok {
				return ev, refuse(reasonMalformed, "name: must be a string")
			}
			ev.EventName = name
		}
	}

	// Context, with the batch's underneath.
	var ctx refContextView
	if !refIsNull(r.Context) {
		if !refIsObject(r.Context) {
			return ev, refuse(reasonMalformed, "context: must be an object")
		}
		if err := json.Unmarshal(r.Context, &ctx); err != nil {
			return ev, refuse(reasonMalformed, "context: %v", err)
		}
	}
	ctx = ctx.under(m.context)

	// Properties (traits for identify and group).
	props := r.Properties
	field := "properties"
	switch ev.Type {
	case pipeline.TypeIdentify, pipeline.TypeGroup:
		props, field = r.Traits, "traits"
		if refIsNull(props) {
			props, field = ctx.Traits, "context.traits"
		}
	case pipeline.TypeAlias:
		props = nil
	}
	var pv refPropsView
	if !refIsNull(props) {
		if !refIsObject(props) {
			return ev, refuse(reasonMalformed, "%s: must be an object", field)
		}
		ev.Properties = props
		if ev.Type != pipeline.TypeIdentify && ev.Type != pipeline.TypeGroup {
			// Cannot fail: props is an object and every field is raw.
			_ = json.Unmarshal(props, &pv)
		}
	}

	// Time.
	if ev.EventTime, err = refEventTime(&r, m); err != nil {
		return ev, refuse(reasonTime, "%v", err)
	}
	ev.ReceivedAt = m.receivedAt

	// Touchpoint.
	var lib struct {
		Name json.RawMessage `json:"name"`
	}
	refUnmarshalObject(ctx.Library, &lib)
	ev.LibraryName, _ = refJsonString(lib.Name)
	tp, err := refTouchpoint(pv.Touchpoint, ctx.Touchpoint, ev.LibraryName)
	if err != nil {
		return ev, refuse(reasonField, "%v", err)
	}
	ev.Touchpoint = tp

	// Page.
	var page struct {
		URL      json.RawMessage `json:"url"`
		Path     json.RawMessage `json:"path"`
		Referrer json.RawMessage `json:"referrer"`
	}
	refUnmarshalObject(ctx.Page, &page)
	ev.PageURL = refFirstString(pv.URL, page.URL)
	ev.PagePath = refFirstString(pv.Path, page.Path)
	ev.Referrer = refFirstString(pv.Referrer, page.Referrer)
	var pageQuery url.Values
	if ev.PageURL != "" {
		if u, err := url.Parse(ev.PageURL); err == nil {
			if ev.PagePath == "" {
				ev.PagePath = u.Path
			}
			pageQuery = u.Query()
		}
	}

	// Campaign: context.campaign, else the page URL's utm_ parameters.
	var camp struct {
		Source json.RawMessage `json:"source"`
		Medium json.RawMessage `json:"medium"`
		Name   json.RawMessage `json:"name"`
	}
	refUnmarshalObject(ctx.Campaign, &camp)
	ev.UTMSource, _ = refJsonString(camp.Source)
	ev.UTMMedium, _ = refJsonString(camp.Medium)
	ev.UTMCampaign, _ = refJsonString(camp.Name)
	if ev.UTMSource == "" && ev.UTMMedium == "" && ev.UTMCampaign == "" && pageQuery != nil {
		ev.UTMSource = pageQuery.Get("utm_source")
		ev.UTMMedium = pageQuery.Get("utm_medium")
		ev.UTMCampaign = pageQuery.Get("utm_campaign")
	}

	// Device.
	var device struct {
		Type  json.RawMessage `json:"type"`
		Model json.RawMessage `json:"model"`
	}
	refUnmarshalObject(ctx.Device, &device)
	if t, ok := refJsonString(device.Type); ok {
		model, _ := refJsonString(device.Model)
		ev.DeviceType = devicepkg.Category(t, model)
	}
	var osv struct {
		Name json.RawMessage `json:"name"`
	}
	refUnmarshalObject(ctx.OS, &osv)
	ev.OS, _ = refJsonString(osv.Name)
	// Each of the three the event leaves empty, from its user agent
	// (parsed afresh: no cache).
	if ua, ok := refJsonString(ctx.UserAgent); ok && ua != "" {
		info := devicepkg.Parse(ua)
		for _, f := range []struct {
			dst *string
			v   string
		}{{&ev.DeviceType, info.Type}, {&ev.Browser, info.Browser}, {&ev.OS, info.OS}} {
			if *f.dst == "" {
				*f.dst = f.v
			}
		}
	}

	// Commerce and engagement.
	if v, ok := refNumber(pv.Revenue); ok {
		ev.Revenue = v
	} else if v, ok := refNumber(pv.Total); ok {
		ev.Revenue = v
	}
	if c, ok := refJsonString(pv.Currency); ok {
		ev.Currency = strings.ToUpper(strings.TrimSpace(c))
	}
	ev.OrderID = refFirstID(pv.OrderID, pv.OrderIDCamel)
	ev.CartID = refFirstID(pv.CartID, pv.CartIDCamel)
	if v, ok := refNumber(pv.Engagement); ok && v > 0 {
		ev.EngagementMS = int64(min(v, math.MaxUint32))
	}

	ev.WriteKey = m.writeKey
	return ev, nil
}

// refEventTime is timestamp, else originalTimestamp corrected for the device's
// clock skew with sentAt (receivedAt - (sentAt - originalTimestamp)), else
// receivedAt; UTC at millisecond precision, as stored.
func refEventTime(r *refRawEvent, m *refBatchMeta) (time.Time, error) {
	ts, ok, err := refParseTime(r.Timestamp, "timestamp")
	if err != nil {
		return time.Time{}, err
	}
	if ok {
		return ts.Truncate(time.Millisecond), nil
	}
	orig, ok, err := refParseTime(r.OriginalTimestamp, "originalTimestamp")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return m.receivedAt, nil
	}
	sentRaw := r.SentAt
	if refIsNull(sentRaw) {
		sentRaw = m.sentAt
	}
	sent, ok, err := refParseTime(sentRaw, "sentAt")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return orig.Truncate(time.Millisecond), nil
	}
	t := m.receivedAt.Add(-sent.Sub(orig)).Truncate(time.Millisecond)
	if t.Before(refMinTime) || t.After(refMaxTime) {
		return time.Time{}, fmt.Errorf("originalTimestamp: corrected with sentAt, %s is out of range", t.Format(time.RFC3339))
	}
	return t, nil
}

// touchpoint is properties.touchpoint, else context.touchpoint, else
// guessed from the SDK: app for mobile SDKs, server for server SDKs, web for
// the rest.
func refTouchpoint(fromProps, fromContext json.RawMessage, library string) (string, error) {
	for _, c := range []struct {
		raw   json.RawMessage
		field string
	}{{fromProps, "properties.touchpoint"}, {fromContext, "context.touchpoint"}} {
		if refIsNull(c.raw) {
			continue
		}
		s, ok := refJsonString(c.raw)
		if !ok {
			return "", fmt.Errorf("%s: must be a string", c.field)
		}
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if !touchpoints[s] {
			return "", fmt.Errorf("%s: %q is not one of web, app, social, chat, email, sms, server", c.field, s)
		}
		return s, nil
	}
	lib := strings.ToLower(library)
	switch {
	case appLibraries[lib]:
		return pipeline.TouchpointApp, nil
	case serverLibraries[lib]:
		return pipeline.TouchpointServer, nil
	}
	return pipeline.TouchpointWeb, nil
}

// refUnmarshalObject decodes raw into v when raw is an object and leaves v
// alone otherwise: context sub-objects of the wrong shape are ignored.
func refUnmarshalObject(raw json.RawMessage, v any) {
	if refIsObject(raw) {
		_ = json.Unmarshal(raw, v)
	}
}

// refFirstString returns the first of raws that is a non-empty JSON string.
func refFirstString(raws ...json.RawMessage) string {
	for _, raw := range raws {
		if s, ok := refJsonString(raw); ok && s != "" {
			return s
		}
	}
	return ""
}

// refFirstID returns the first of raws that is a non-empty string or a refNumber.
func refFirstID(raws ...json.RawMessage) string {
	for _, raw := range raws {
		if s, err := refIdString(raw, ""); err == nil && s != "" {
			return s
		}
	}
	return ""
}

// refNumber reads a finite JSON refNumber, or a string holding one.
func refNumber(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if refIsNull(raw) {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		var ok bool
		if s, ok = refJsonString(raw); !ok {
			return 0, false
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// refTooDeep is tooDeep as it was before the speed-ups.
func refTooDeep(b []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
