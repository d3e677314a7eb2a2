package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// Limits.
const (
	// MaxBodyBytes bounds a request body, on the wire and decompressed.
	MaxBodyBytes = 1 << 20
	// MaxItems bounds the events in one body.
	MaxItems = 10_000
	// MaxPropertiesBytes bounds the JSON of one event's mapped properties
	// (Segment's limit for an event).
	MaxPropertiesBytes = 32 << 10
	// maxPayloadBytes bounds the payload kept in a dead letter; a larger
	// item or body is cut (a body) or left out (an item).
	maxPayloadBytes = 32 << 10
)

// ErrNoRule is the reason of an item that no rule matched.
var ErrNoRule = errors.New("no mapping rule matched")

// ErrTooManyItems happens when a body holds more than MaxItems events.
var ErrTooManyItems = fmt.Errorf("body: more than %d events", MaxItems)

// The range DateTime64(3) in ClickHouse can hold; times outside are refused.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2299, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Endpoint is the path the source is served on, "/v1/webhooks/{source}":
// the endpoint label of the collector's metrics and the source of dead
// letters.
func (m *Mapping) Endpoint() string { return "/v1/webhooks/" + m.source }

// Map turns a request body into events, one per item at events_path, and
// dead letters for the items it cannot map (no rule matched, or a field did
// not convert), each with its index and reason. receivedAt is the
// collector's clock and writeKey the request's key; both go into every
// event and dead letter. The error means the body cannot be read at all
// (not JSON, events_path absent, too many items). Map does no I/O.
func (m *Mapping) Map(body []byte, receivedAt time.Time, writeKey string) ([]pipeline.Event, []pipeline.Rejected, error) {
	root, err := decodeBody(body)
	if err != nil {
		return nil, nil, err
	}
	items, err := m.items(root)
	if err != nil {
		return nil, nil, err
	}
	receivedAt = receivedAt.UTC().Truncate(time.Millisecond)
	events := make([]pipeline.Event, 0, len(items))
	var dead []pipeline.Rejected
	for i, item := range items {
		canon, _ := json.Marshal(item) // cannot fail: decoded JSON
		ev, err := m.mapItem(item, canon, receivedAt)
		if err != nil {
			d := pipeline.Rejected{ReceivedAt: receivedAt, Source: m.Endpoint(), WriteKey: writeKey, Index: i, Error: err.Error()}
			if len(canon) <= maxPayloadBytes {
				d.Payload = canon
			}
			dead = append(dead, d)
			continue
		}
		ev.WriteKey = writeKey
		events = append(events, ev)
	}
	return events, dead, nil
}

// decodeBody parses a body, keeping numbers as written.
func decodeBody(body []byte) (any, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("body: empty")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var root any
	if err := d.Decode(&root); err != nil {
		return nil, fmt.Errorf("body: invalid JSON: %w", err)
	}
	if len(bytes.TrimSpace(body[d.InputOffset():])) > 0 {
		return nil, errors.New("body: invalid JSON: data after the top-level value")
	}
	return root, nil
}

// items returns the events of a body: what events_path selects, arrays
// flattened one level.
func (m *Mapping) items(root any) ([]any, error) {
	found := m.eventsPath.all(root)
	if len(found) == 0 && !m.eventsPath.hasWildcard() {
		return nil, fmt.Errorf("body: events_path %s: not found", m.eventsPath)
	}
	var items []any
	for _, f := range found {
		if a, ok := f.([]any); ok {
			items = append(items, a...)
		} else {
			items = append(items, f)
		}
		if len(items) > MaxItems {
			return nil, ErrTooManyItems
		}
	}
	return items, nil
}

// match returns the first rule whose conditions all hold for item.
func (m *Mapping) match(item any) *rule {
	for i := range m.rules {
		if m.rules[i].matches(item) {
			return &m.rules[i]
		}
	}
	return nil
}

func (r *rule) matches(item any) bool {
	for _, c := range r.when {
		if !c.holds(item) {
			return false
		}
	}
	return true
}

func (c *condition) holds(item any) bool {
	v, found := c.path.get(item)
	if c.op == opExists {
		return found == c.exists
	}
	if !found {
		return false
	}
	for _, want := range c.values {
		if equalJSON(v, want) {
			return true
		}
	}
	return false
}

// equalJSON compares decoded JSON values; numbers by value.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == b {
			return true
		}
		x, err1 := a.Float64()
		y, err2 := b.Float64()
		return err1 == nil && err2 == nil && x == y
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equalJSON(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

// mapItem maps one item by the first rule that matches it. canon is the
// item's canonical JSON (keys sorted), the input of a generated message id.
func (m *Mapping) mapItem(item any, canon []byte, receivedAt time.Time) (pipeline.Event, error) {
	var ev pipeline.Event
	if _, ok := item.(map[string]any); !ok {
		return ev, fmt.Errorf("item: must be a JSON object, got %s", kind(item))
	}
	r := m.match(item)
	if r == nil {
		return ev, ErrNoRule
	}
	ev, err := r.apply(item, receivedAt)
	if err != nil {
		return ev, fmt.Errorf("%s %q: %w", r.at, r.event, err)
	}
	ev.LibraryName = "webhook/" + m.source
	if ev.MessageID == "" {
		ev.MessageID = generatedID(m.source, canon)
	} else {
		ev.MessageID = m.source + ":" + ev.MessageID
	}
	return ev, nil
}

// generatedID is the message id of an item without one: a hash of the
// source and the item's canonical JSON, so that a redelivery of the same
// item deduplicates.
func generatedID(source string, canon []byte) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write(canon)
	return source + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// apply fills an event from item by the rule's fields.
func (r *rule) apply(item any, receivedAt time.Time) (pipeline.Event, error) {
	ev := pipeline.Event{
		Type:       pipeline.TypeTrack,
		EventName:  r.event,
		Touchpoint: r.touchpoint,
		ReceivedAt: receivedAt,
		EventTime:  receivedAt,
	}
	cols := r.fields.columns
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{fieldVisitorID, &ev.VisitorID}, {fieldUserID, &ev.UserID}, {fieldMessageID, &ev.MessageID},
		{fieldPageURL, &ev.PageURL}, {fieldReferrer, &ev.Referrer},
		{fieldUTMSource, &ev.UTMSource}, {fieldUTMMedium, &ev.UTMMedium}, {fieldUTMCampaign, &ev.UTMCampaign},
		{fieldCurrency, &ev.Currency}, {fieldOrderID, &ev.OrderID}, {fieldCartID, &ev.CartID},
	} {
		if *f.dst, err = idValue(cols[f.name], item); err != nil {
			return ev, err
		}
	}
	if ev.VisitorID == "" {
		ev.VisitorID = ev.UserID
	}
	if ev.VisitorID == "" {
		return ev, errors.New("visitor_id: not found, and no user_id either")
	}
	ev.Currency = strings.ToUpper(strings.TrimSpace(ev.Currency))
	if ev.PageURL != "" {
		if u, err := url.Parse(ev.PageURL); err == nil {
			ev.PagePath = u.Path
		}
	}
	if v := cols[fieldRevenue]; v != nil {
		raw, at, ok, err := v.resolve(item)
		if err != nil {
			return ev, err
		}
		if ok {
			f, ok := toFloat(raw)
			if !ok {
				return ev, fmt.Errorf("%s: %s: must be a number, got %s", v.field, at, describe(raw))
			}
			ev.Revenue = f
		}
	}
	if v := cols[fieldTimestamp]; v != nil {
		t, ok, err := v.timestamp(item)
		if err != nil {
			return ev, err
		}
		if ok {
			ev.EventTime = t
		}
	}
	if ev.Properties, err = r.properties(item); err != nil {
		return ev, err
	}
	return ev, nil
}

// resolve returns the value of v in item: the first of its paths present
// (not missing, null or ""), else its literal. at names where it came from.
// ok is false when there is none; that is an error when v is required.
func (v *valueSpec) resolve(item any) (val any, at string, ok bool, err error) {
	for _, p := range v.paths {
		x, found := p.get(item)
		if !found || x == "" {
			continue
		}
		return x, p.String(), true, nil
	}
	if v.hasLiteral {
		return v.literal, "value", true, nil
	}
	if v.required {
		where := make([]string, len(v.paths))
		for i, p := range v.paths {
			where[i] = p.String()
		}
		return nil, "", false, fmt.Errorf("%s: required, not found at %s", v.field, strings.Join(where, ", "))
	}
	return nil, "", false, nil
}

// idValue resolves a string column: a string, or a number kept as written.
func idValue(v *valueSpec, item any) (string, error) {
	if v == nil {
		return "", nil
	}
	x, at, ok, err := v.resolve(item)
	if err != nil || !ok {
		return "", err
	}
	switch x := x.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	}
	return "", fmt.Errorf("%s: %s: must be a string or number, got %s", v.field, at, describe(x))
}

// timestamp resolves the event time in v's format.
func (v *valueSpec) timestamp(item any) (time.Time, bool, error) {
	x, at, ok, err := v.resolve(item)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	var t time.Time
	switch v.format {
	case formatUnix, formatUnixMS:
		f, isNum := toFloat(x)
		if !isNum {
			return t, false, fmt.Errorf("%s: %s: must be a number of %s, got %s", v.field, at, unitName(v.format), describe(x))
		}
		if t, ok = epoch(x, f, v.format == formatUnixMS); !ok {
			return t, false, fmt.Errorf("%s: %s: %s is out of range (as %s)", v.field, at, describe(x), unitName(v.format))
		}
	default:
		s, isStr := x.(string)
		if !isStr {
			return t, false, fmt.Errorf("%s: %s: must be an RFC 3339 string, got %s", v.field, at, describe(x))
		}
		if t, ok = parseRFC3339(s); !ok {
			return t, false, fmt.Errorf("%s: %s: %q is not an RFC 3339 time", v.field, at, s)
		}
	}
	t = t.UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return t, false, fmt.Errorf("%s: %s: %s is out of range", v.field, at, t.Format(time.RFC3339))
	}
	return t.Truncate(time.Millisecond), true, nil
}

// epoch converts x, a number (f) of seconds or milliseconds since the
// epoch, to a time at millisecond precision, rounding down. Plain decimals
// convert exactly; ok is false out of range.
func epoch(x any, f float64, isMS bool) (time.Time, bool) {
	ms := f
	if !isMS {
		ms *= 1000
	}
	if ms < float64(minTime.UnixMilli()) || ms > float64(maxTime.UnixMilli()) {
		return time.Time{}, false
	}
	s := strings.TrimSpace(fmt.Sprint(x))
	if len(s) <= 40 && !strings.ContainsAny(s, "eE") {
		if r, ok := new(big.Rat).SetString(s); ok {
			if !isMS {
				r.Mul(r, big.NewRat(1000, 1))
			}
			q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: rounds down
			return time.UnixMilli(q.Int64()), true
		}
	}
	return time.UnixMilli(int64(math.Floor(ms))), true
}

func unitName(format string) string {
	if format == formatUnixMS {
		return "milliseconds since the epoch"
	}
	return "seconds since the epoch"
}

// timeLayouts are the ISO 8601 forms platforms send: RFC 3339, a zone
// without a colon, and no zone at all (taken as UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

func parseRFC3339(s string) (time.Time, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// properties builds the event's properties object, nil when the rule maps
// none.
func (r *rule) properties(item any) (json.RawMessage, error) {
	if len(r.fields.properties) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(r.fields.properties))
	for _, name := range sortedKeys(r.fields.properties) {
		v := r.fields.properties[name]
		x, at, ok, err := v.resolve(item)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if out[name], err = v.convert(x, at); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("properties: %w", err)
	}
	if len(b) > MaxPropertiesBytes {
		return nil, fmt.Errorf("properties: larger than %d bytes", MaxPropertiesBytes)
	}
	return b, nil
}

// convert checks and converts a property value to v's type.
func (v *valueSpec) convert(x any, at string) (any, error) {
	switch v.typ {
	case typeString:
		switch x := x.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		}
		return nil, fmt.Errorf("%s: %s: must be a string, got %s", v.field, at, describe(x))
	case typeBoolean:
		switch x {
		case true, "true":
			return true, nil
		case false, "false":
			return false, nil
		}
		return nil, fmt.Errorf("%s: %s: must be true or false, got %s", v.field, at, describe(x))
	case typeNumber, typeInteger:
		f, ok := toFloat(x)
		if !ok {
			return nil, fmt.Errorf("%s: %s: must be a number, got %s", v.field, at, describe(x))
		}
		if v.typ == typeInteger && (f != math.Trunc(f) || math.Abs(f) > 1<<53) {
			return nil, fmt.Errorf("%s: %s: must be an integer, got %s", v.field, at, describe(x))
		}
		if v.min != nil && f < *v.min {
			return nil, fmt.Errorf("%s: %s: %s is below the minimum %v", v.field, at, describe(x), *v.min)
		}
		if v.max != nil && f > *v.max {
			return nil, fmt.Errorf("%s: %s: %s is above the maximum %v", v.field, at, describe(x), *v.max)
		}
		if v.typ == typeInteger {
			return int64(f), nil
		}
		if n, ok := x.(json.Number); ok {
			return n, nil
		}
		return f, nil
	}
	return x, nil
}

// toFloat reads a finite number, or a string holding one.
func toFloat(x any) (float64, bool) {
	var s string
	switch x := x.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// kind names a decoded JSON value's type.
func kind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", x)
}

// describe shows a value in a message: scalars as JSON, containers by kind.
func describe(x any) string {
	switch x.(type) {
	case []any, map[string]any, nil:
		return kind(x)
	}
	b, _ := json.Marshal(x)
	if len(b) > 64 {
		b = append(b[:61], "..."...)
	}
	return string(b)
}
