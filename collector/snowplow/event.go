package snowplow

import (
	"encoding/json"
	"errors"
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

// Event names of the standard Snowplow events that have no Segment call of
// their own.
const (
	// EventPagePing is a page ping (e=pp): the page is still open and was
	// used during the last heartbeat.
	EventPagePing = "Page Ping"
	// EventOrderItem is one line of a classic e-commerce transaction (e=ti).
	EventOrderItem = "Order Item"
	// LibraryPrefix starts the library_name of Snowplow events, followed by
	// the tracker's name from tv: "snowplow-js", "snowplow-andr", ...
	LibraryPrefix = "snowplow-"
)

// The Snowplow event types (the e parameter).
const (
	eventPageView   = "pv"
	eventPagePing   = "pp"
	eventStructured = "se"
	eventSelfDesc   = "ue"
	eventTrans      = "tr"
	eventTransItem  = "ti"
)

// The range DateTime64(3) in ClickHouse can hold; times outside are refused.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2299, 12, 31, 23, 59, 59, 0, time.UTC)
)

// errMissingID refuses an event without any identifier to key it by.
var errMissingID = errors.New("duid, nuid, tnuid or uid is required (or a client_session entity with userId)")

// meta is what decode needs besides the event's parameters.
type meta struct {
	writeKey     string
	receivedAt   time.Time     // UTC, millisecond precision
	pingInterval time.Duration // engagement of one page ping; 0 if unknown
	userAgent    string        // the request's User-Agent header
}

// spMeta is properties.snowplow: what the protocol says about an event
// that has no column of its own.
type spMeta struct {
	Event        string           `json:"event"`
	AppID        string           `json:"app_id,omitempty"`
	Platform     string           `json:"platform,omitempty"`
	Tracker      string           `json:"tracker,omitempty"`
	Namespace    string           `json:"namespace,omitempty"`
	Schema       string           `json:"schema,omitempty"`
	SessionID    string           `json:"session_id,omitempty"`
	SessionIndex int64            `json:"session_index,omitempty"`
	Contexts     []selfDescribing `json:"contexts,omitempty"`
}

// decode maps one tracker-protocol event to the canonical pipeline.Event,
// or says why it is refused. It does no I/O, apart from drawing a UUID when
// there is no eid; the clock comes in as m.receivedAt.
func decode(p params, m meta) (pipeline.Event, error) {
	ev := pipeline.Event{ReceivedAt: m.receivedAt, WriteKey: m.writeKey, LibraryName: library(p["tv"])}
	e := p["e"]
	switch e {
	case eventPageView, eventPagePing, eventStructured, eventSelfDesc, eventTrans, eventTransItem:
	case "":
		return ev, errors.New("e: required (pv, pp, se, ue, tr or ti)")
	default:
		return ev, fmt.Errorf("e: %q is not one of pv, pp, se, ue, tr, ti", e)
	}

	// Entities first: the mobile trackers' visitor id is in one.
	var contexts []selfDescribing
	raw, field, err := jsonParam(p, "co", "cx")
	if err != nil {
		return ev, err
	}
	if raw != nil {
		if contexts, err = decodeContexts(raw, field); err != nil {
			return ev, err
		}
	}
	var session struct {
		UserID json.RawMessage `json:"userId"`
	}
	entityInto(contexts, vendorSnowplow, "client_session", &session)

	// Identity.
	ev.MessageID = p["eid"]
	if ev.MessageID == "" {
		ev.MessageID = uuid.NewString()
	}
	ev.UserID = p["uid"]
	ev.VisitorID = firstNonEmpty(p["duid"], str(session.UserID), p["nuid"], p["tnuid"], ev.UserID)
	if ev.VisitorID == "" {
		return ev, errMissingID
	}

	// Time, touchpoint, page, campaign, device.
	if ev.EventTime, err = eventTime(p, m.receivedAt); err != nil {
		return ev, err
	}
	ev.Touchpoint = touchpoint(p["p"])
	ev.PageURL, ev.Referrer = p["url"], p["refr"]
	if ev.PageURL != "" {
		if u, err := url.Parse(ev.PageURL); err == nil {
			ev.PagePath = u.Path
			q := u.Query()
			ev.UTMSource, ev.UTMMedium, ev.UTMCampaign = q.Get("utm_source"), q.Get("utm_medium"), q.Get("utm_campaign")
			ev.ClickIDType, ev.ClickID = pipeline.ClickIDOf(q)
		}
	}
	var mobile struct {
		OSType      json.RawMessage `json:"osType"`
		DeviceModel json.RawMessage `json:"deviceModel"`
	}
	entityInto(contexts, vendorSnowplow, "mobile_context", &mobile)
	ev.OS = str(mobile.OSType)
	// The mobile trackers' platform (ios, android) as the device category,
	// as Segment's mobile libraries' is.
	ev.DeviceType = device.Category(ev.OS, str(mobile.DeviceModel))
	// The rest from the user agent: the payload's ua, else the request's
	// (as Snowplow's enrichment does).
	ua := p["ua"]
	if ua == "" {
		ua = m.userAgent
	}
	device.Fill(&ev, ua)

	sp := spMeta{
		Event: e, AppID: p["aid"], Platform: p["p"], Tracker: p["tv"], Namespace: p["tna"],
		SessionID: p["sid"], Contexts: contexts,
	}
	if v, err := strconv.ParseInt(p["vid"], 10, 64); err == nil && v > 0 {
		sp.SessionIndex = v
	}

	var props map[string]any
	switch e {
	case eventPageView:
		ev.Type, ev.EventName = pipeline.TypePage, p["page"]
		props = pageProps(p, &ev)
	case eventPagePing:
		ev.Type, ev.EventName = pipeline.TypeTrack, EventPagePing
		props = pageProps(p, &ev)
		for _, f := range [...]struct{ param, key string }{{"pp_mix", "x_min"}, {"pp_max", "x_max"}, {"pp_miy", "y_min"}, {"pp_may", "y_max"}} {
			// Scroll offsets that do not parse are left out, not refused.
			if v, err := strconv.ParseInt(strings.TrimSpace(p[f.param]), 10, 64); err == nil {
				props[f.key] = v
			}
		}
		if m.pingInterval > 0 {
			ev.EngagementMS = m.pingInterval.Milliseconds()
			props["engagement_time_msec"] = ev.EngagementMS
		}
	case eventStructured:
		ev.Type, ev.EventName = pipeline.TypeTrack, p["se_ac"]
		if ev.EventName == "" {
			return ev, errors.New("se_ac: required for a structured event (e=se)")
		}
		props = map[string]any{"action": ev.EventName}
		putString(props, "category", p["se_ca"])
		putString(props, "label", p["se_la"])
		putString(props, "property", p["se_pr"])
		if err := putNumber(props, "value", p, "se_va"); err != nil {
			return ev, err
		}
	case eventTrans:
		ev.Type, ev.EventName = pipeline.TypeTrack, pipeline.EventOrderCompleted
		ev.OrderID, ev.Currency = p["tr_id"], currency(p["tr_cu"])
		props = map[string]any{}
		putString(props, "order_id", ev.OrderID)
		putString(props, "affiliation", p["tr_af"])
		for _, f := range [...]struct{ param, key string }{{"tr_tt", "total"}, {"tr_tx", "tax"}, {"tr_sh", "shipping"}} {
			if err := putNumber(props, f.key, p, f.param); err != nil {
				return ev, err
			}
		}
		if v, ok := props["total"].(float64); ok {
			ev.Revenue = v
		}
		putString(props, "city", p["tr_ci"])
		putString(props, "state", p["tr_st"])
		putString(props, "country", p["tr_co"])
		putString(props, "currency", ev.Currency)
	case eventTransItem:
		ev.Type, ev.EventName = pipeline.TypeTrack, EventOrderItem
		ev.OrderID, ev.Currency = p["ti_id"], currency(p["ti_cu"])
		props = map[string]any{}
		putString(props, "order_id", ev.OrderID)
		putString(props, "sku", p["ti_sk"])
		putString(props, "name", p["ti_nm"])
		putString(props, "category", p["ti_ca"])
		for _, f := range [...]struct{ param, key string }{{"ti_pr", "price"}, {"ti_qu", "quantity"}} {
			if err := putNumber(props, f.key, p, f.param); err != nil {
				return ev, err
			}
		}
		putString(props, "currency", ev.Currency)
	case eventSelfDesc:
		raw, field, err := jsonParam(p, "ue_pr", "ue_px")
		if err != nil {
			return ev, err
		}
		if raw == nil {
			return ev, errors.New("ue_pr or ue_px: required for a self-describing event (e=ue)")
		}
		sd, schema, err := decodeUnstruct(raw, field)
		if err != nil {
			return ev, err
		}
		sp.Schema = sd.Schema
		var data map[string]json.RawMessage
		if err := json.Unmarshal(sd.Data, &data); err != nil {
			return ev, fmt.Errorf("%s: the data of %s: %w", field, sd.Schema, err)
		}
		mapSelfDescribing(schema, data, contexts, &ev)
		props = make(map[string]any, len(data)+1)
		for k, v := range data {
			props[k] = v
		}
		if schema.vendor == vendorEcommerce {
			addEcommerceEntities(props, contexts)
		}
	}
	if _, taken := props["snowplow"]; !taken {
		props["snowplow"] = sp
	}
	if ev.Properties, err = json.Marshal(props); err != nil {
		return ev, fmt.Errorf("properties: %w", err)
	}
	return ev, nil
}

// pageProps are the properties of a page view or ping, as Segment's page
// call has them.
func pageProps(p params, ev *pipeline.Event) map[string]any {
	props := map[string]any{}
	putString(props, "title", p["page"])
	putString(props, "url", ev.PageURL)
	putString(props, "path", ev.PagePath)
	putString(props, "referrer", ev.Referrer)
	return props
}

// eventTime is ttm (the true timestamp), else dtm corrected for the
// device's clock skew with stm as Segment's sentAt corrects
// originalTimestamp (receivedAt - (stm - dtm)), else dtm, else receivedAt.
func eventTime(p params, receivedAt time.Time) (time.Time, error) {
	if t, ok, err := millis(p, "ttm"); err != nil || ok {
		return t, err
	}
	dtm, ok, err := millis(p, "dtm")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return receivedAt, nil
	}
	stm, ok, err := millis(p, "stm")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return dtm, nil
	}
	t := receivedAt.Add(-stm.Sub(dtm))
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("dtm: corrected with stm, %s is out of range", t.Format(time.RFC3339))
	}
	return t, nil
}

// millis reads a time in milliseconds since 1970 (a fraction is dropped).
func millis(p params, field string) (time.Time, bool, error) {
	s := strings.TrimSpace(p[field])
	if s == "" {
		return time.Time{}, false, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false, fmt.Errorf("%s: %q is not a time in milliseconds since 1970", field, s)
	}
	if f < float64(minTime.UnixMilli()) || f > float64(maxTime.UnixMilli()) {
		return time.Time{}, false, fmt.Errorf("%s: %q is out of range", field, s)
	}
	return time.UnixMilli(int64(f)).UTC(), true, nil
}

// touchpoint maps the platform (p): mobile and other app platforms are
// app, srv is server, web and anything else web.
func touchpoint(platform string) string {
	switch platform {
	case "mob", "app", "pc", "tv", "cnsl", "iot":
		return pipeline.TouchpointApp
	case "srv":
		return pipeline.TouchpointServer
	}
	return pipeline.TouchpointWeb
}

// library is the library_name for tracker version tv ("js-3.23.0",
// "andr-6.0.0"): LibraryPrefix and the name without its version.
func library(tv string) string {
	name := tv
	if i := strings.LastIndexByte(tv, '-'); i > 0 && i+1 < len(tv) && tv[i+1] >= '0' && tv[i+1] <= '9' {
		name = tv[:i]
	}
	if name == "" {
		return strings.TrimSuffix(LibraryPrefix, "-")
	}
	return LibraryPrefix + name
}

func currency(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func putString(props map[string]any, key, v string) {
	if v != "" {
		props[key] = v
	}
}

// putNumber sets props[key] to parameter param when it is there; a value
// that is not a finite number refuses the event.
func putNumber(props map[string]any, key string, p params, param string) error {
	s := strings.TrimSpace(p[param])
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: %q is not a number", param, s)
	}
	props[key] = v
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
