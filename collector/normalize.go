package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/touchstream/touchstream/device"
	"github.com/touchstream/touchstream/pipeline"
)

// Reasons an event or request is refused: the reason label of
// touchstream_collector_events_rejected_total.
const (
	reasonMalformed    = "malformed"        // not JSON, not an object, a field of the wrong JSON type
	reasonTooLarge     = "too_large"        // over MaxEventBytes or MaxBatchBytes
	reasonUnauthorized = "unauthorized"     // unknown or missing write key
	reasonType         = "invalid_type"     // type missing or not a Segment call
	reasonMissingID    = "missing_id"       // neither anonymousId nor userId
	reasonMissingEvent = "missing_event"    // a track without its event name
	reasonTime         = "invalid_time"     // a time that does not parse or is out of range
	reasonField        = "invalid_field"    // another field with a value the collector refuses
	reasonTooDeep      = "too_deep"         // JSON nested deeper than MaxJSONDepth
	reasonOrigin       = "forbidden_origin" // a browser origin the write key's source does not allow
	reasonKafkaRefused = "kafka_refused"    // Kafka refused the event for good (too large for the topic, say)
)

// eventError is why one event was refused.
type eventError struct {
	reason string
	msg    string
}

func (e *eventError) Error() string { return e.msg }

func refuse(reason, format string, args ...any) *eventError {
	return &eventError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// batchMeta is what normalize needs besides the event itself.
type batchMeta struct {
	typ        string          // the type the endpoint implies, "" for a batch
	context    contextView     // the batch's context
	sentAt     json.RawMessage // the batch's sentAt
	receivedAt time.Time       // UTC, millisecond precision
	writeKey   string
}

// Library names of mobile and server SDKs, for the default touchpoint.
var (
	appLibraries = map[string]bool{
		"analytics-ios": true, "analytics-android": true, "analytics-react-native": true,
		"analytics-flutter": true, "analytics-swift": true, "analytics-kotlin": true,
		"rudder-ios": true, "rudder-android": true,
	}
	serverLibraries = map[string]bool{
		"analytics-node": true, "@segment/analytics-node": true, "analytics-go": true,
		"analytics-python": true, "analytics-ruby": true, "analytics-java": true,
		"analytics-php": true, "analytics.net": true, "rudder-sdk-node": true,
	}
	touchpoints = map[string]bool{
		pipeline.TouchpointWeb: true, pipeline.TouchpointApp: true, pipeline.TouchpointSocial: true,
		pipeline.TouchpointChat: true, pipeline.TouchpointEmail: true, pipeline.TouchpointSMS: true,
		pipeline.TouchpointServer: true,
	}
	eventTypes = map[string]bool{
		pipeline.TypeTrack: true, pipeline.TypePage: true, pipeline.TypeScreen: true,
		pipeline.TypeIdentify: true, pipeline.TypeGroup: true, pipeline.TypeAlias: true,
	}
)

// propsView holds the properties the collector maps to columns.
type propsView struct {
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

// propsViewNames are propsView's JSON names, in the order of its fields.
var propsViewNames = []string{"url", "path", "referrer", "revenue", "total", "currency",
	"order_id", "orderId", "cart_id", "cartId", "engagement_time_msec", "touchpoint"}

// read decodes the JSON object raw (valid JSON) into p as
// encoding/json.Unmarshal would, without copying (see readObject).
func (p *propsView) read(raw []byte) bool {
	return readObject(raw, propsViewNames, []*json.RawMessage{&p.URL, &p.Path, &p.Referrer, &p.Revenue,
		&p.Total, &p.Currency, &p.OrderID, &p.OrderIDCamel, &p.CartID, &p.CartIDCamel, &p.Engagement, &p.Touchpoint})
}

// normalize maps one Segment event to the canonical pipeline.Event, or says
// why it cannot be accepted. It does no I/O; the clock comes in as
// m.receivedAt. raw is valid JSON, as decodeSegment leaves every event: it
// is read once, without being checked again.
func normalize(raw json.RawMessage, m *batchMeta) (pipeline.Event, *eventError) {
	var ev pipeline.Event
	if !isObject(raw) {
		return ev, refuse(reasonMalformed, "event: must be a JSON object")
	}
	var r rawEvent
	if !r.read(raw) {
		var err error
		if r, err = unmarshalNew[rawEvent](raw); err != nil {
			return ev, refuse(reasonMalformed, "event: invalid JSON: %v", err)
		}
	}

	// Type: the endpoint's, else the event's own.
	ev.Type = m.typ
	if ev.Type == "" {
		t, ok := jsonString(r.Type)
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
	if ev.MessageID, err = idString(r.MessageID, "messageId"); err != nil {
		return ev, refuse(reasonMalformed, "%v", err)
	}
	if ev.MessageID == "" {
		ev.MessageID = uuid.NewString()
	}
	anon, err := idString(r.AnonymousID, "anonymousId")
	if err != nil {
		return ev, refuse(reasonMalformed, "%v", err)
	}
	if ev.UserID, err = idString(r.UserID, "userId"); err != nil {
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
		if !isNull(r.Event) {
			name, ok := jsonString(r.Event)
			if !ok {
				return ev, refuse(reasonMalformed, "event: must be a string")
			}
			ev.EventName = name
		}
		if ev.EventName == "" {
			return ev, refuse(reasonMissingEvent, "event: required for a track call")
		}
	case pipeline.TypePage, pipeline.TypeScreen:
		if !isNull(r.Name) {
			name, ok := jsonString(r.Name)
			if !ok {
				return ev, refuse(reasonMalformed, "name: must be a string")
			}
			ev.EventName = name
		}
	}

	// Context, with the batch's underneath.
	var ctx contextView
	if !isNull(r.Context) {
		if !isObject(r.Context) {
			return ev, refuse(reasonMalformed, "context: must be an object")
		}
		if !ctx.read(r.Context) {
			var err error
			if ctx, err = unmarshalNew[contextView](r.Context); err != nil {
				return ev, refuse(reasonMalformed, "context: %v", err)
			}
		}
	}
	ctx = ctx.under(m.context)

	// Properties (traits for identify and group).
	props := r.Properties
	field := "properties"
	switch ev.Type {
	case pipeline.TypeIdentify, pipeline.TypeGroup:
		props, field = r.Traits, "traits"
		if isNull(props) {
			props, field = ctx.Traits, "context.traits"
		}
	case pipeline.TypeAlias:
		props = nil
	}
	var pv propsView
	if !isNull(props) {
		if !isObject(props) {
			return ev, refuse(reasonMalformed, "%s: must be an object", field)
		}
		ev.Properties = props
		if ev.Type != pipeline.TypeIdentify && ev.Type != pipeline.TypeGroup {
			// Cannot fail: props is an object and every field is raw.
			if !pv.read(props) {
				pv, _ = unmarshalNew[propsView](props)
			}
		}
	}

	// Time.
	if ev.EventTime, err = eventTime(&r, m); err != nil {
		return ev, refuse(reasonTime, "%v", err)
	}
	ev.ReceivedAt = m.receivedAt

	// Touchpoint.
	var libName json.RawMessage
	readFields(ctx.Library, nameField, &libName)
	ev.LibraryName, _ = jsonString(libName)
	tp, err := touchpoint(pv.Touchpoint, ctx.Touchpoint, ev.LibraryName)
	if err != nil {
		return ev, refuse(reasonField, "%v", err)
	}
	ev.Touchpoint = tp

	// Page.
	var pageURL, pagePath, pageReferrer json.RawMessage
	readFields(ctx.Page, pageFields, &pageURL, &pagePath, &pageReferrer)
	ev.PageURL = firstString(pv.URL, pageURL)
	ev.PagePath = firstString(pv.Path, pagePath)
	ev.Referrer = firstString(pv.Referrer, pageReferrer)
	var pageQuery url.Values
	if ev.PageURL != "" {
		if u, err := url.Parse(ev.PageURL); err == nil {
			if ev.PagePath == "" {
				ev.PagePath = u.Path
			}
			if u.RawQuery != "" { // most page URLs have none: no map to build
				pageQuery = u.Query()
			}
		}
	}

	// Campaign: context.campaign, else the page URL's utm_ parameters;
	// the click id likewise, each on its own.
	var camp campaignView
	camp.read(ctx.Campaign)
	ev.UTMSource, _ = jsonString(camp.source)
	ev.UTMMedium, _ = jsonString(camp.medium)
	ev.UTMCampaign, _ = jsonString(camp.name)
	if ev.UTMSource == "" && ev.UTMMedium == "" && ev.UTMCampaign == "" && pageQuery != nil {
		ev.UTMSource = pageQuery.Get("utm_source")
		ev.UTMMedium = pageQuery.Get("utm_medium")
		ev.UTMCampaign = pageQuery.Get("utm_campaign")
	}
	ev.ClickIDType, ev.ClickID = camp.clickID()
	if ev.ClickIDType == "" && pageQuery != nil {
		ev.ClickIDType, ev.ClickID = pipeline.ClickIDOf(pageQuery)
	}

	// Device.
	var deviceType, deviceModel, osName json.RawMessage
	readFields(ctx.Device, deviceFields, &deviceType, &deviceModel)
	if t, ok := jsonString(deviceType); ok {
		// Segment's mobile libraries send their platform (ios, android)
		// as the type: named as a category, the platform stays in os.
		model, _ := jsonString(deviceModel)
		ev.DeviceType = device.Category(t, model)
	}
	readFields(ctx.OS, nameField, &osName)
	ev.OS, _ = jsonString(osName)
	// What the event leaves out, its user agent says (web trackers send
	// only context.userAgent).
	if ua, ok := jsonString(ctx.UserAgent); ok {
		device.Fill(&ev, ua)
	}

	// Commerce and engagement.
	if v, ok := number(pv.Revenue); ok {
		ev.Revenue = v
	} else if v, ok := number(pv.Total); ok {
		ev.Revenue = v
	}
	if c, ok := jsonString(pv.Currency); ok {
		ev.Currency = strings.ToUpper(strings.TrimSpace(c))
	}
	ev.OrderID = firstID(pv.OrderID, pv.OrderIDCamel)
	ev.CartID = firstID(pv.CartID, pv.CartIDCamel)
	if v, ok := number(pv.Engagement); ok && v > 0 {
		ev.EngagementMS = int64(min(v, math.MaxUint32))
	}

	ev.WriteKey = m.writeKey
	return ev, nil
}

// eventTime is timestamp, else originalTimestamp corrected for the device's
// clock skew with sentAt (receivedAt - (sentAt - originalTimestamp)), else
// receivedAt; UTC at millisecond precision, as stored.
func eventTime(r *rawEvent, m *batchMeta) (time.Time, error) {
	ts, ok, err := parseTime(r.Timestamp, "timestamp")
	if err != nil {
		return time.Time{}, err
	}
	if ok {
		return ts.Truncate(time.Millisecond), nil
	}
	orig, ok, err := parseTime(r.OriginalTimestamp, "originalTimestamp")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return m.receivedAt, nil
	}
	sentRaw := r.SentAt
	if isNull(sentRaw) {
		sentRaw = m.sentAt
	}
	sent, ok, err := parseTime(sentRaw, "sentAt")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return orig.Truncate(time.Millisecond), nil
	}
	t := m.receivedAt.Add(-sent.Sub(orig)).Truncate(time.Millisecond)
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("originalTimestamp: corrected with sentAt, %s is out of range", t.Format(time.RFC3339))
	}
	return t, nil
}

// touchpoint is properties.touchpoint, else context.touchpoint, else
// guessed from the SDK: app for mobile SDKs, server for server SDKs, web for
// the rest.
func touchpoint(fromProps, fromContext json.RawMessage, library string) (string, error) {
	for _, c := range []struct {
		raw   json.RawMessage
		field string
	}{{fromProps, "properties.touchpoint"}, {fromContext, "context.touchpoint"}} {
		if isNull(c.raw) {
			continue
		}
		s, ok := jsonString(c.raw)
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

// The members normalize reads from context sub-objects.
var (
	nameField      = []string{"name"}
	deviceFields   = []string{"type", "model"}
	pageFields     = []string{"url", "path", "referrer"}
	campaignFields = append([]string{"source", "medium", "name"}, pipeline.ClickIDParams()...)
)

// campaignView holds the members normalize reads from context.campaign:
// the utm_ fields and each click-id parameter, by pipeline.ClickIDRank.
type campaignView struct {
	source, medium, name json.RawMessage
	clickIDs             [pipeline.NumClickIDParams]json.RawMessage
}

// read reads the members of the campaign object raw as readFields does
// (names matched as encoding/json matches them, so "GCLID" is gclid; the
// last of duplicate members wins), in one pass.
func (c *campaignView) read(raw json.RawMessage) {
	if !isObject(raw) {
		return
	}
	ok := eachMember(raw, campaignFields, func(f int, v []byte) bool {
		switch f {
		case 0:
			c.source = v
		case 1:
			c.medium = v
		case 2:
			c.name = v
		default:
			c.clickIDs[f-3] = v
		}
		return true
	})
	if !ok {
		*c = campaignView{} // not valid JSON: see readFields
	}
}

// clickID returns the click-id parameter of highest precedence whose value
// is a string that is not blank, and that value trimmed of spaces; "" and
// "" when there is none.
func (c *campaignView) clickID() (param, value string) {
	for i, raw := range c.clickIDs {
		if s, ok := jsonString(raw); ok {
			if s = strings.TrimSpace(s); s != "" {
				return campaignFields[3+i], s
			}
		}
	}
	return "", ""
}

// readFields reads the members names of raw into vals when raw is an
// object and leaves them alone otherwise: context sub-objects of the wrong
// shape are ignored. It decodes as encoding/json.Unmarshal into a struct
// of json.RawMessage fields would (see readObject).
func readFields(raw json.RawMessage, names []string, vals ...*json.RawMessage) {
	if isObject(raw) && !readObject(raw, names, vals) {
		// Not valid JSON, so not from decodeSegment: encoding/json would
		// have decoded nothing.
		for _, v := range vals {
			*v = nil
		}
	}
}

// firstString returns the first of raws that is a non-empty JSON string.
func firstString(raws ...json.RawMessage) string {
	for _, raw := range raws {
		if s, ok := jsonString(raw); ok && s != "" {
			return s
		}
	}
	return ""
}

// firstID returns the first of raws that is a non-empty string or a number.
func firstID(raws ...json.RawMessage) string {
	for _, raw := range raws {
		if s, err := idString(raw, ""); err == nil && s != "" {
			return s
		}
	}
	return ""
}

// number reads a finite JSON number, or a string holding one.
func number(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		var ok bool
		if s, ok = jsonString(raw); !ok {
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
