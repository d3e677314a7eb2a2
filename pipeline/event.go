package pipeline

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Kafka topics (DESIGN.md section 1).
const (
	TopicEvents   = "clickstream.events"   // accepted events, key = visitor id
	TopicRejected = "clickstream.rejected" // dead letters with reasons
)

// Event types, as in the Segment spec.
const (
	TypeTrack    = "track"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Well-known event names (Segment e-commerce spec) the reports rely on.
const (
	EventProductViewed   = "Product Viewed"
	EventProductAdded    = "Product Added"
	EventCheckoutStarted = "Checkout Started"
	EventOrderCompleted  = "Order Completed"
)

// Touchpoints (DESIGN.md section 6).
const (
	TouchpointWeb    = "web"
	TouchpointApp    = "app"
	TouchpointSocial = "social"
	TouchpointChat   = "chat"
	TouchpointEmail  = "email"
	TouchpointSMS    = "sms"
	TouchpointServer = "server"
)

// Event is one accepted touchpoint in canonical form: what the collector
// publishes to TopicEvents (as JSON, keyed by VisitorID) and what the
// processor writes to the events table. Times are UTC. The collector fills
// everything it can know at the edge; the processor fills SessionID, Stage
// and TrafficChannel. ClickIDType and ClickID are the ad click id the
// event came with, both "" when none: the first known parameter (in
// ClickIDParams' order) of context.campaign, else of the page URL's query
// (see ClickIDOf); t.js keeps the landing page's for the whole session.
type Event struct {
	MessageID   string    `json:"message_id"`  // client's messageId; the deduplication key
	EventTime   time.Time `json:"event_time"`  // when it happened, clock-skew corrected
	ReceivedAt  time.Time `json:"received_at"` // when the collector accepted it
	Type        string    `json:"type"`        // track, page, screen, identify, group, alias
	EventName   string    `json:"event_name"`  // track: the event; page/screen: the name, may be ""
	Touchpoint  string    `json:"touchpoint"`  // web, app, social, chat, email, sms, server
	VisitorID   string    `json:"visitor_id"`  // anonymousId, else userId
	UserID      string    `json:"user_id,omitempty"`
	SessionID   string    `json:"session_id,omitempty"` // set by the processor
	Stage       string    `json:"stage,omitempty"`      // set by the processor
	Channel     string    `json:"traffic_channel,omitempty"`
	UTMSource   string    `json:"utm_source,omitempty"`
	UTMMedium   string    `json:"utm_medium,omitempty"`
	UTMCampaign string    `json:"utm_campaign,omitempty"`
	ClickIDType string    `json:"click_id_type,omitempty"` // the ad click id's parameter: gclid, fbclid, ... (see ClickIDParams)
	ClickID     string    `json:"click_id,omitempty"`      // its value
	PageURL     string    `json:"page_url,omitempty"`
	PagePath    string    `json:"page_path,omitempty"`
	Referrer    string    `json:"referrer,omitempty"`
	LibraryName string    `json:"library_name,omitempty"`
	DeviceType  string    `json:"device_type,omitempty"`
	Browser     string    `json:"browser,omitempty"`
	OS          string    `json:"os,omitempty"`
	Revenue     float64   `json:"revenue,omitempty"`
	Currency    string    `json:"currency,omitempty"`
	OrderID     string    `json:"order_id,omitempty"`
	CartID      string    `json:"cart_id,omitempty"`
	// EngagementMS is engaged time reported by the tracker for this event
	// (properties.engagement_time_msec).
	EngagementMS int64           `json:"engagement_time_msec,omitempty"`
	Properties   json.RawMessage `json:"properties,omitempty"` // the event's properties (traits for identify), as sent
	WriteKey     string          `json:"write_key,omitempty"`  // the source it came in through
}

// clickIDParams are the ad networks' auto-tagging parameters, in order of
// precedence when an event carries more than one.
var clickIDParams = [...]string{
	"gclid", "gbraid", "wbraid", // Google Ads
	"dclid",     // Display & Video 360, Campaign Manager 360
	"msclkid",   // Microsoft Advertising
	"yclid",     // Yandex Direct
	"fbclid",    // Meta
	"ttclid",    // TikTok
	"li_fat_id", // LinkedIn
	"twclid",    // X (Twitter)
	"sccid",     // Snapchat
	"epik",      // Pinterest
	"rdt_cid",   // Reddit
}

// NumClickIDParams is how many click-id parameters ClickIDParams returns,
// a constant for arrays indexed by ClickIDRank.
const NumClickIDParams = len(clickIDParams)

// ClickIDParams returns the click-id parameters the pipeline knows, lower
// case, in order of precedence (gclid first): the one list the collector
// and package channel use. The slice is a fresh copy.
func ClickIDParams() []string { return append([]string(nil), clickIDParams[:]...) }

// ClickIDRank returns the precedence of the click-id parameter name (0 for
// gclid), its ASCII letters compared without case ("GCLID" is gclid), or
// -1 when name is not a known click id.
func ClickIDRank(name string) int {
	for i, p := range clickIDParams {
		if len(name) == len(p) && strings.EqualFold(name, p) && isASCII(name) {
			return i
		}
	}
	return -1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ClickIDOf returns the click id of a URL query: the known parameter of
// highest precedence (see ClickIDRank) whose first value is not blank, as
// its lower-case name and that value with surrounding spaces trimmed; ""
// and "" when there is none. Of two spellings of one name ("gclid" and
// "GCLID"), the lower-case one, else the one that sorts first, wins.
func ClickIDOf(q url.Values) (param, value string) {
	best, bestKey := -1, ""
	for k, vs := range q {
		r := ClickIDRank(k)
		if r < 0 || (best >= 0 && r > best) || len(vs) == 0 {
			continue
		}
		v := strings.TrimSpace(vs[0])
		if v == "" {
			continue
		}
		if r == best && !preferKey(k, bestKey, clickIDParams[r]) {
			continue
		}
		best, bestKey, value = r, k, v
	}
	if best < 0 {
		return "", ""
	}
	return clickIDParams[best], value
}

// preferKey reports whether k is a better spelling of the parameter lower
// than cur: lower itself, else the first in byte order.
func preferKey(k, cur, lower string) bool {
	if cur == lower {
		return false
	}
	return k == lower || k < cur
}

// IsView reports whether the event is a page or screen view.
func (e *Event) IsView() bool { return e.Type == TypePage || e.Type == TypeScreen }

// IsConversion reports whether the event is a conversion (an order).
func (e *Event) IsConversion() bool {
	return e.Type == TypeTrack && e.EventName == EventOrderCompleted
}

// Rejected is a dead letter on TopicRejected: a request or event the collector
// could not accept, with the reason.
type Rejected struct {
	ReceivedAt time.Time       `json:"received_at"`
	Source     string          `json:"source"` // the endpoint, e.g. "/v1/batch"
	WriteKey   string          `json:"write_key,omitempty"`
	Index      int             `json:"index"` // position in the batch, -1 for the whole request
	Error      string          `json:"error"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}
