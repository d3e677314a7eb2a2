package pixel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/touchstream/touchstream/pipeline"
)

const (
	// EventEmailOpened is the event of a track pixel without one when the
	// touchpoint is email (the Segment email spec's name).
	EventEmailOpened = "Email Opened"
	// Library is the library_name of pixel events.
	Library = "touchstream-pixel"
	// propPrefix starts a query parameter that is one property.
	propPrefix = "prop_"
)

var errTooLarge = errors.New("query: larger than " + strconv.Itoa(maxQueryBytes) + " bytes")

// refusal is why a pixel's event was refused; the message goes to the dead
// letter and to errorHeader.
func refusal(format string, args ...any) error { return fmt.Errorf(format, args...) }

var touchpoints = map[string]bool{
	pipeline.TouchpointWeb: true, pipeline.TouchpointApp: true, pipeline.TouchpointSocial: true,
	pipeline.TouchpointChat: true, pipeline.TouchpointEmail: true, pipeline.TouchpointSMS: true,
	pipeline.TouchpointServer: true,
}

// decode maps a pixel's query string to an event, or says why it is
// refused. It does no I/O, apart from drawing a UUID when there is no
// messageId; the clock comes in as receivedAt.
func decode(q url.Values, kind, writeKey string, receivedAt time.Time) (pipeline.Event, error) {
	ev := pipeline.Event{
		Type:        kind,
		ReceivedAt:  receivedAt,
		WriteKey:    writeKey,
		LibraryName: Library,
	}

	// Identity.
	ev.MessageID = q.Get("messageId")
	if ev.MessageID == "" {
		ev.MessageID = uuid.NewString()
	}
	ev.UserID = first(q, "userId", "uid")
	ev.VisitorID = first(q, "anonymousId", "aid")
	if ev.VisitorID == "" {
		ev.VisitorID = ev.UserID
	}
	if ev.VisitorID == "" {
		return ev, refusal("anonymousId (aid) or userId (uid) is required")
	}

	// Touchpoint and name.
	ev.Touchpoint = strings.ToLower(strings.TrimSpace(q.Get("touchpoint")))
	if ev.Touchpoint == "" {
		ev.Touchpoint = pipeline.TouchpointEmail
	}
	if !touchpoints[ev.Touchpoint] {
		return ev, refusal("touchpoint: %q is not one of email, sms, web, app, social, chat, server", q.Get("touchpoint"))
	}
	switch kind {
	case pipeline.TypeTrack:
		ev.EventName = q.Get("event")
		if ev.EventName == "" {
			if ev.Touchpoint != pipeline.TouchpointEmail {
				return ev, refusal("event: required for a track pixel (only touchpoint email defaults to %q)", EventEmailOpened)
			}
			ev.EventName = EventEmailOpened
		}
	case pipeline.TypePage:
		ev.EventName = q.Get("name")
	}

	// Properties.
	props, err := properties(q)
	if err != nil {
		return ev, err
	}
	if len(props) > 0 {
		// Cannot fail: every value is valid JSON.
		ev.Properties, _ = json.Marshal(props)
	}

	// Time.
	ev.EventTime = receivedAt
	if s := q.Get("timestamp"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return ev, err
		}
		ev.EventTime = t
	}

	// Page: properties first, then the parameters, as normalize does with
	// properties and context.page.
	ev.PageURL = firstNonEmpty(propString(props, "url"), q.Get("url"))
	ev.PagePath = firstNonEmpty(propString(props, "path"), q.Get("path"))
	ev.Referrer = firstNonEmpty(propString(props, "referrer"), q.Get("referrer"))
	var pageQuery url.Values
	if ev.PageURL != "" {
		if u, err := url.Parse(ev.PageURL); err == nil {
			if ev.PagePath == "" {
				ev.PagePath = u.Path
			}
			pageQuery = u.Query()
		}
	}

	// Campaign: the parameters, else the page URL's.
	ev.UTMSource = q.Get("utm_source")
	ev.UTMMedium = q.Get("utm_medium")
	ev.UTMCampaign = q.Get("utm_campaign")
	if ev.UTMSource == "" && ev.UTMMedium == "" && ev.UTMCampaign == "" && pageQuery != nil {
		ev.UTMSource = pageQuery.Get("utm_source")
		ev.UTMMedium = pageQuery.Get("utm_medium")
		ev.UTMCampaign = pageQuery.Get("utm_campaign")
	}

	// Commerce and engagement.
	if v, ok := number(props["revenue"]); ok {
		ev.Revenue = v
	} else if v, ok := number(props["total"]); ok {
		ev.Revenue = v
	}
	ev.Currency = strings.ToUpper(strings.TrimSpace(propString(props, "currency")))
	ev.OrderID = firstNonEmpty(propID(props, "order_id"), propID(props, "orderId"))
	ev.CartID = firstNonEmpty(propID(props, "cart_id"), propID(props, "cartId"))
	if v, ok := number(props["engagement_time_msec"]); ok && v > 0 {
		ev.EngagementMS = int64(min(v, math.MaxUint32))
	}
	return ev, nil
}

// properties merges the p parameter (a base64url JSON object) with the
// prop_<name> parameters, which win.
func properties(q url.Values) (map[string]json.RawMessage, error) {
	props := map[string]json.RawMessage{}
	if p := q.Get("p"); p != "" {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			return nil, refusal("p: not base64url: %w", err)
		}
		if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return nil, refusal("p: must be a JSON object")
		}
		if err := json.Unmarshal(raw, &props); err != nil {
			return nil, refusal("p: invalid JSON: %w", err)
		}
	}
	for k, vs := range q {
		name, ok := strings.CutPrefix(k, propPrefix)
		if !ok || name == "" || len(vs) == 0 {
			continue
		}
		props[name], _ = json.Marshal(vs[0]) // invalid UTF-8 becomes U+FFFD
	}
	return props, nil
}

// first returns the first non-empty value of the parameters names.
func first(q url.Values, names ...string) string {
	for _, n := range names {
		if v := q.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// propString returns props[key] when it is a JSON string.
func propString(props map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := props[key]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// propID returns props[key] when it is a string, or a number as written.
func propID(props map[string]json.RawMessage, key string) string {
	raw := bytes.TrimSpace(props[key])
	if len(raw) == 0 {
		return ""
	}
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		return string(raw)
	}
	return propString(props, key)
}

// number reads a finite JSON number, or a string holding one.
func number(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
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

// timeLayouts are the ISO 8601 forms the collector reads: RFC 3339, a zone
// without a colon, and no zone at all (taken as UTC).
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

// parseTime reads the timestamp parameter: UTC at millisecond precision. A
// space after the date stands for T; a space later stands for the + of a
// zone offset that was not percent-encoded (a query string decodes + to a
// space).
func parseTime(s string) (time.Time, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	s = strings.ReplaceAll(s, " ", "+")
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Before(minTime) || t.After(maxTime) {
				return time.Time{}, refusal("timestamp: %q is out of range", s)
			}
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, refusal("timestamp: %q is not an ISO 8601 time", s)
}
