package generate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// LibraryName is context.library.name on every generated event.
const LibraryName = "touchstream-generate"

// LibraryVersion is context.library.version on every generated event.
const LibraryVersion = "1.0.0"

// Config says what to generate. The zero value of a field takes the default
// of DefaultConfig, except Visitors (0 generates nothing).
type Config struct {
	Visitors int   // visitors (anonymous ids v-1 ... v-N)
	Seed     int64 // the random seed; the same seed gives the same world
	Days     int   // days the events spread over, from Start
	// Start is the first day (UTC; normally a midnight). Zero means today's
	// UTC midnight minus Days, so every event lies in the past.
	Start    time.Time
	WriteKey string // the collector source's write key (Basic auth user)
}

// DefaultConfig is 1000 visitors over the 7 days before today, seed 1,
// write key "dev".
func DefaultConfig() Config {
	return Config{Visitors: 1000, Seed: 1, Days: 7, WriteKey: "dev"}
}

// Validate reports the first field that cannot be generated.
func (c Config) Validate() error {
	switch {
	case c.Visitors < 0:
		return fmt.Errorf("visitors: %d, want >= 0", c.Visitors)
	case c.Visitors > 10_000_000:
		return fmt.Errorf("visitors: %d, want <= 10000000", c.Visitors)
	case c.Days < 0:
		return fmt.Errorf("days: %d, want >= 1", c.Days)
	case c.Days > 3650:
		return fmt.Errorf("days: %d, want <= 3650", c.Days)
	}
	return nil
}

// withDefaults fills zero fields; now decides the default Start.
func (c Config) withDefaults(now time.Time) Config {
	if c.Days <= 0 {
		c.Days = 7
	}
	if c.Start.IsZero() {
		y, m, d := now.UTC().Date()
		c.Start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -c.Days)
	}
	c.Start = c.Start.UTC().Truncate(time.Millisecond)
	if c.WriteKey == "" {
		c.WriteKey = "dev"
	}
	return c
}

// End is the end of the generated range: Start + Days. Every event is before it.
func (c Config) End() time.Time { return c.Start.Add(time.Duration(c.Days) * 24 * time.Hour) }

// Page is the web page an event happened on (context.page; for a page event,
// the page viewed).
type Page struct {
	URL, Path, Title, Referrer, Search string
}

// Campaign holds the UTM parameters of a session that came from a campaign.
type Campaign struct {
	Source, Medium, Name string
}

// Event is one generated event. Payload renders it as a Segment API event.
type Event struct {
	MessageID   string
	Type        string // pipeline.TypePage, TypeTrack or TypeIdentify
	Name        string // track: the event name; page: the page name
	Time        time.Time
	AnonymousID string
	UserID      string
	Page        Page      // the current page; zero for identify
	Campaign    *Campaign // the session's campaign, nil when direct/organic
	UserAgent   string
	// Properties are the event's properties (traits for identify), without
	// the page fields, which Payload adds to a page event's properties.
	Properties map[string]any
	// Via is the collector endpoint a real email or SMS tool would send the
	// event to: "" (ViaSegment) for everything a website or app tracks,
	// ViaPixel for an email open, ViaRedirect for a click on a signed email
	// or SMS link. Send uses it; Payload renders every event for the
	// Segment API whatever its Via, which is Send's fallback.
	Via string
}

// The endpoints of Event.Via.
const (
	// ViaSegment is the Segment HTTP API, POST /v1/batch.
	ViaSegment = ""
	// ViaPixel is the tracking pixel, GET /pixel/v1/track: the event's
	// message id, time, ids, campaign and properties go in the query
	// string, so the stored event is the one generated.
	ViaPixel = "pixel"
	// ViaRedirect is the signed click redirect, GET /r/{token}. The token
	// carries the target (Page.URL), the recipient (UserID: a click's
	// visitor is its user id, and the event has no anonymous id), the
	// touchpoint, utm_source and utm_campaign (Campaign); the collector
	// records the click at the time it receives it, with a message id of
	// its own. Every click has a visitor of its own (its recipient, who
	// clicks nothing else), so no answer of Expected depends on the click's
	// time, only on the range the report covers including it.
	ViaRedirect = "redirect"
)

// Visitor is the id reports count by: the anonymous id, else the user id.
func (e *Event) Visitor() string {
	if e.AnonymousID != "" {
		return e.AnonymousID
	}
	return e.UserID
}

// IsView reports whether the event is a page or screen view.
func (e *Event) IsView() bool { return e.Type == pipeline.TypePage || e.Type == pipeline.TypeScreen }

// IsTrack reports whether the event is the track event name.
func (e *Event) IsTrack(name string) bool { return e.Type == pipeline.TypeTrack && e.Name == name }

// CartID is properties.cart_id, or "".
func (e *Event) CartID() string { s, _ := e.Properties["cart_id"].(string); return s }

// Revenue is properties.revenue, or 0.
func (e *Event) Revenue() float64 { f, _ := e.Properties["revenue"].(float64); return f }

// Timestamp is the event time as sent: RFC 3339, UTC, milliseconds.
func (e *Event) Timestamp() string { return e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Payload renders the event as a Segment HTTP API event (one element of a
// /v1/batch "batch" array).
func (e *Event) Payload() map[string]any {
	p := map[string]any{
		"type":        e.Type,
		"messageId":   e.MessageID,
		"timestamp":   e.Timestamp(),
		"anonymousId": e.AnonymousID,
	}
	if e.UserID != "" {
		p["userId"] = e.UserID
	}
	props := make(map[string]any, len(e.Properties)+6)
	for k, v := range e.Properties {
		props[k] = v
	}
	ctx := map[string]any{
		"library": map[string]any{"name": LibraryName, "version": LibraryVersion},
	}
	if e.Page.URL != "" {
		page := map[string]any{"url": e.Page.URL, "path": e.Page.Path, "title": e.Page.Title, "referrer": e.Page.Referrer, "search": e.Page.Search}
		ctx["page"] = page
		if e.IsView() {
			for k, v := range page {
				props[k] = v
			}
		}
	}
	if c := e.Campaign; c != nil {
		ctx["campaign"] = map[string]any{"source": c.Source, "medium": c.Medium, "name": c.Name}
	}
	if e.UserAgent != "" {
		ctx["userAgent"] = e.UserAgent
	}
	p["context"] = ctx
	switch e.Type {
	case pipeline.TypeTrack:
		p["event"] = e.Name
		p["properties"] = props
	case pipeline.TypeIdentify:
		p["traits"] = props
	default:
		if e.Name != "" {
			p["name"] = e.Name
		}
		p["properties"] = props
	}
	return p
}

// Session is a session as generated: a visitor's run of events with gaps of
// at most 10 minutes, more than 2 hours away from the visitor's other
// sessions, so that sessionizing with a 30-minute timeout finds exactly it.
type Session struct {
	Visitor    string
	Start, End time.Time // first and last event time
	Events     int
	PageViews  int
	Orders     int
}

// World is a generated clickstream: its events in time order and the
// sessions they form.
type World struct {
	Config   Config
	events   []Event
	sessions []Session
}

// Generate makes the world of cfg. It is deterministic for (Seed, Visitors,
// Days, Start); a zero Start means today's midnight minus Days (UTC).
func Generate(cfg Config) *World {
	cfg = cfg.withDefaults(time.Now())
	w := &World{Config: cfg}
	cat := newCatalog()
	for v := 1; v <= cfg.Visitors; v++ {
		s := newVisitorSim(cfg, cat, v)
		s.run()
		w.events = append(w.events, s.events...)
		w.sessions = append(w.sessions, s.sessions...)
	}
	w.sortEvents()
	return w
}

// FromEvents makes a world of hand-built events, for tests and edge cases:
// it sorts them by time (stably) and fills missing message ids.
func FromEvents(events []Event) *World {
	w := &World{Config: Config{Days: 1, WriteKey: "dev"}, events: slices.Clone(events)}
	for i := range w.events {
		if w.events[i].MessageID == "" {
			w.events[i].MessageID = fmt.Sprintf("m-hand-%d", i)
		}
	}
	w.sortEvents()
	if len(w.events) > 0 {
		w.Config.Start = w.events[0].Time
	}
	return w
}

func (w *World) sortEvents() {
	slices.SortStableFunc(w.events, func(a, b Event) int { return a.Time.Compare(b.Time) })
}

// Events returns the events in time order (ties in generation order). The
// slice is the world's own: do not modify it.
func (w *World) Events() []Event { return w.events }

// Sessions returns the sessions as generated, visitor by visitor.
func (w *World) Sessions() []Session { return w.sessions }

// Batches cuts the events into batches of at most size Segment API events,
// in time order, or in a random (but seed-determined) order when shuffle is
// set. Every event is in them, whatever its Via.
func (w *World) Batches(size int, shuffle bool) [][]map[string]any {
	var out [][]map[string]any
	for _, idx := range w.batchIndexes(size, shuffle) {
		b := make([]map[string]any, len(idx))
		for i, j := range idx {
			b[i] = w.events[j].Payload()
		}
		out = append(out, b)
	}
	return out
}

// order is the event indexes in time order, or shuffled (seed-determined).
func (w *World) order(shuffle bool) []int {
	order := make([]int, len(w.events))
	for i := range order {
		order[i] = i
	}
	if shuffle {
		r := rand.New(rand.NewPCG(uint64(w.Config.Seed), 0x5375ff1e))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	return order
}

// batchIndexes cuts the event indexes into batches of at most size.
func (w *World) batchIndexes(size int, shuffle bool) [][]int {
	if size < 1 {
		size = 1
	}
	order := w.order(shuffle)
	var out [][]int
	for len(order) > 0 {
		n := min(size, len(order))
		out = append(out, order[:n:n])
		order = order[n:]
	}
	return out
}
