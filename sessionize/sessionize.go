package sessionize

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// Defaults (DESIGN.md section 5).
const (
	DefaultGap           = 30 * time.Minute
	DefaultMaxDuration   = 24 * time.Hour
	DefaultAllowance     = 24 * time.Hour
	DefaultEngagementCap = 30 * time.Minute
)

// maxEngagementCap is the largest EngagementCap: engaged time is kept per
// event as a uint32 count of milliseconds (about 49.7 days).
const maxEngagementCap = time.Duration(math.MaxUint32) * time.Millisecond

// Config sets the session rules. A zero field takes its default.
type Config struct {
	Gap           time.Duration // inactivity gap, default 30m: a gap > Gap starts a new session, exactly Gap does not
	MaxDuration   time.Duration // hard cap, default 24h: an event >= MaxDuration after the session start begins a new session
	Allowance     time.Duration // lateness allowance, default 24h: state is kept this long past a visitor's latest event
	EngagementCap time.Duration // per-event cap on EngagementMS, default 30m

	// SplitOnCampaign also starts a new session at an event that carries a
	// campaign (a non-empty UTMSource, UTMMedium or UTMCampaign) other than
	// the session's own (those of its first event). Default false.
	SplitOnCampaign bool
}

// DefaultConfig returns the rules of DESIGN.md section 5.
func DefaultConfig() Config {
	return Config{
		Gap:           DefaultGap,
		MaxDuration:   DefaultMaxDuration,
		Allowance:     DefaultAllowance,
		EngagementCap: DefaultEngagementCap,
	}
}

// Validate reports the fields that New would refuse: negative durations and
// an EngagementCap above 2^32-1 ms. Zero fields are valid (they take the
// default).
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"Gap", c.Gap},
		{"MaxDuration", c.MaxDuration},
		{"Allowance", c.Allowance},
		{"EngagementCap", c.EngagementCap},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("sessionize: %s must not be negative, got %v", f.name, f.d))
		}
	}
	if c.EngagementCap > maxEngagementCap {
		errs = append(errs, fmt.Errorf("sessionize: EngagementCap must be at most %v, got %v", maxEngagementCap, c.EngagementCap))
	}
	return errors.Join(errs...)
}

// withDefaults replaces zero fields by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Gap == 0 {
		c.Gap = d.Gap
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = d.MaxDuration
	}
	if c.Allowance == 0 {
		c.Allowance = d.Allowance
	}
	if c.EngagementCap == 0 {
		c.EngagementCap = d.EngagementCap
	}
	return c
}

// Stats counts what a Sessionizer holds and what it refused. The first three
// are current sizes, the rest totals since New.
type Stats struct {
	Visitors   uint64 // visitors with retained state
	Events     uint64 // retained event summaries
	Sessions   uint64 // sessions in retained state (the ones a late event may still change)
	Added      uint64 // events sessionized
	Duplicates uint64 // events whose MessageID was already retained for the visitor
	Late       uint64 // events older than the visitor's latest event minus Allowance
	Tombstones uint64 // tombstones returned by Add
	Restated   uint64 // sessions Add returned after an event older than its visitor's latest retained one (out of order, within Allowance): new versions and tombstones
	Expired    uint64 // visitors dropped by Expire
}

// Sessionizer holds the sessionization state of one partition. It is not
// safe for concurrent use.
type Sessionizer struct {
	gap, maxDur, allowance int64 // nanoseconds
	engCapMS               uint32
	splitCampaign          bool

	visitors    map[string]*visitor
	peakVisitor int    // len(visitors) high-water mark, to rebuild the map after mass expiry
	version     uint64 // the last Version returned
	stats       Stats
}

// New returns an empty Sessionizer. Zero fields of cfg take their defaults.
// New panics if cfg.Validate fails: validate configuration from outside
// before calling it.
func New(cfg Config) *Sessionizer {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	return &Sessionizer{
		gap:           int64(cfg.Gap),
		maxDur:        int64(cfg.MaxDuration),
		allowance:     int64(cfg.Allowance),
		engCapMS:      uint32(cfg.EngagementCap.Milliseconds()),
		splitCampaign: cfg.SplitOnCampaign,
		visitors:      make(map[string]*visitor),
	}
}

// SessionID returns the deterministic id of the session of visitorID that
// starts at start: the hex of the first 16 bytes of
// sha256(visitorID + "\x00" + start in RFC 3339 with nanoseconds, UTC).
func SessionID(visitorID string, start time.Time) string {
	h := sha256.New()
	h.Write([]byte(visitorID))
	h.Write([]byte{0})
	var buf [len(time.RFC3339Nano) + 8]byte
	h.Write(start.UTC().AppendFormat(buf[:0], time.RFC3339Nano))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// Add folds one event into the state of its visitor. now is the processing
// time; it is used only for Version: every session Add returns has a Version
// greater than any returned before, max(now in Unix nanoseconds, last+1).
//
// Add returns the sessions that changed, in start order: new and updated
// sessions, and tombstones (Deleted set, the fields of the removed session,
// a newer Version) for sessions whose id disappeared because an out-of-order
// event merged or re-split them. It returns nil for a duplicate (a MessageID
// already retained for the visitor) and for an event older than the
// visitor's latest event minus Allowance; both are counted in Stats.
//
// The returned slice is the caller's.
func (s *Sessionizer) Add(e pipeline.Event, now time.Time) []pipeline.Session {
	t := e.EventTime.UnixNano()
	v := s.visitors[e.VisitorID]
	if v != nil && t < v.latest()-s.allowance {
		s.stats.Late++
		return nil
	}
	key := messageKey(e.MessageID)
	if v != nil && v.has(key) {
		s.stats.Duplicates++
		return nil
	}
	if v == nil {
		v = &visitor{id: strings.Clone(e.VisitorID)}
		s.visitors[v.id] = v
		s.peakVisitor = max(s.peakVisitor, len(s.visitors))
	}
	ev := v.summarize(&e, t, key, s.engCapMS)

	// Insert in (time, key) order; in-order arrival appends.
	p := len(v.events)
	if p > 0 && ev.less(&v.events[p-1]) {
		p, _ = slices.BinarySearchFunc(v.events, ev, func(a, b summary) int {
			if a.less(&b) {
				return -1
			}
			return 1 // keys are unique within a visitor
		})
	}
	v.events = slices.Insert(v.events, p, ev)
	v.addKey(key)
	s.stats.Added++
	s.stats.Events++

	var out []pipeline.Session
	if p == len(v.events)-1 && len(v.sessions) > 0 {
		out = s.appendEvent(v, now)
	} else {
		inOrder := p == len(v.events)-1
		out = s.restate(v, p, now)
		if !inOrder {
			s.stats.Restated += uint64(len(out))
		}
	}
	s.prune(v)
	return out
}

// appendEvent handles the common case: the new event is the visitor's latest
// and extends the last session or starts a new one after it.
func (s *Sessionizer) appendEvent(v *visitor, now time.Time) []pipeline.Session {
	n := len(v.events)
	ev, prev := &v.events[n-1], &v.events[n-2]
	last := &v.sessions[len(v.sessions)-1]
	if s.splits(v, last, prev.t, ev) {
		ns := v.open(ev, "")
		ns.Version = s.nextVersion(now)
		v.sessions = append(v.sessions, ns)
		s.stats.Sessions++
		return []pipeline.Session{ns}
	}
	v.fold(last, ev)
	last.Version = s.nextVersion(now)
	return []pipeline.Session{*last}
}

// restate recomputes the sessions from the one holding the new event's
// predecessor (events before it cannot change) and returns the difference.
func (s *Sessionizer) restate(v *visitor, p int, now time.Time) []pipeline.Session {
	// Find session j holding event p-1; off is its first event. The
	// sessions cover the events before the insertion, so p-1 is unchanged.
	j, off := 0, 0
	if p > 0 && len(v.sessions) > 0 {
		off = len(v.events) - 1
		for j = len(v.sessions) - 1; j > 0; j-- {
			off -= v.sessions[j].Events
			if off <= p-1 {
				break
			}
		}
		if j == 0 {
			off = 0
		}
	}
	old := v.sessions[j:]
	fresh := s.build(v, off, old)

	var out []pipeline.Session
	i, k := 0, 0
	for i < len(old) || k < len(fresh) {
		switch {
		case k == len(fresh) || (i < len(old) && old[i].Start.Before(fresh[k].Start)):
			tomb := old[i]
			tomb.Deleted = true
			tomb.Version = s.nextVersion(now)
			out = append(out, tomb)
			s.stats.Tombstones++
			i++
		case i == len(old) || fresh[k].Start.Before(old[i].Start):
			fresh[k].Version = s.nextVersion(now)
			out = append(out, fresh[k])
			k++
		default: // same start, so the same id
			fresh[k].Version = old[i].Version
			// All times are built by time.Unix(...).UTC(), so == is exact.
			if fresh[k] != old[i] {
				fresh[k].Version = s.nextVersion(now)
				out = append(out, fresh[k])
			}
			i++
			k++
		}
	}
	s.stats.Sessions += uint64(len(fresh))
	s.stats.Sessions -= uint64(len(old))
	v.sessions = append(v.sessions[:j], fresh...)
	return out
}

// build sessionizes v.events[off:], which starts a session. Sessions of old
// with the same start lend their ids (saving a sha256 each).
func (s *Sessionizer) build(v *visitor, off int, old []pipeline.Session) []pipeline.Session {
	var out []pipeline.Session
	for i := off; i < len(v.events); i++ {
		ev := &v.events[i]
		if len(out) > 0 {
			cur := &out[len(out)-1]
			if !s.splits(v, cur, v.events[i-1].t, ev) {
				v.fold(cur, ev)
				continue
			}
		}
		id := ""
		for len(old) > 0 && old[0].Start.UnixNano() < ev.t {
			old = old[1:]
		}
		if len(old) > 0 && old[0].Start.UnixNano() == ev.t {
			id = old[0].SessionID
		}
		out = append(out, v.open(ev, id))
	}
	return out
}

// splits reports whether ev, following an event at prev, starts a new
// session after cur: a gap longer than Gap, at least MaxDuration after cur's
// start, or, with SplitOnCampaign, a campaign other than cur's at a later
// instant than prev. It depends only on ev, prev and cur, and cur only on
// its first event, so sessions are a left-to-right fold over the visitor's
// ordered events. None of the three splits between events at the same
// instant, so a visitor's session starts, and with them the ids, are
// distinct.
func (s *Sessionizer) splits(v *visitor, cur *pipeline.Session, prev int64, ev *summary) bool {
	if ev.t-prev > s.gap || ev.t-cur.Start.UnixNano() >= s.maxDur {
		return true
	}
	if !s.splitCampaign || ev.t == prev {
		return false
	}
	a := &v.attrs.vals[ev.attrs]
	return a.hasCampaign() &&
		(a.utmSource != cur.UTMSource || a.utmMedium != cur.UTMMedium || a.utmCampaign != cur.UTMCampaign)
}

// prune drops the sessions no accepted event can change any more, with
// their events: those followed by a session that starts before the
// lateness cutoff. Every accepted event is at or after the cutoff, so it
// lands after that start.
func (s *Sessionizer) prune(v *visitor) {
	cutoff := v.latest() - s.allowance
	drop, dropEvents := 0, 0
	for drop+1 < len(v.sessions) && v.sessions[drop+1].Start.UnixNano() < cutoff {
		dropEvents += v.sessions[drop].Events
		drop++
	}
	if drop == 0 {
		return
	}
	if v.seen != nil {
		for i := range dropEvents {
			delete(v.seen, v.events[i].key)
		}
	}
	v.events = slices.Delete(v.events, 0, dropEvents)
	v.sessions = slices.Delete(v.sessions, 0, drop)
	s.stats.Events -= uint64(dropEvents)
	s.stats.Sessions -= uint64(drop)
	if len(v.pages.vals)+len(v.attrs.vals)+len(v.revenue) > 2*len(v.events)+16 {
		v.compact()
	}
}

// nextVersion returns max(now in Unix nanoseconds, last+1).
func (s *Sessionizer) nextVersion(now time.Time) uint64 {
	ver := s.version + 1
	if n := now.UnixNano(); n > 0 && uint64(n) > ver {
		ver = uint64(n)
	}
	s.version = ver
	return ver
}

// SessionOf returns the id of the session the event with this MessageID
// currently belongs to, "" if the event is not retained (never added, late,
// expired, or in a session already pruned as final). Called right after Add
// for the same event it is O(1) for in-order arrival.
func (s *Sessionizer) SessionOf(visitorID, messageID string) string {
	v := s.visitors[visitorID]
	if v == nil {
		return ""
	}
	key := messageKey(messageID)
	for i := len(v.events) - 1; i >= 0; i-- {
		if v.events[i].key != key {
			continue
		}
		off := len(v.events)
		for j := len(v.sessions) - 1; j >= 0; j-- {
			off -= v.sessions[j].Events
			if off <= i {
				return v.sessions[j].SessionID
			}
		}
		return ""
	}
	return ""
}

// Expire drops the visitors whose latest event is older than watermark minus
// Allowance, and returns how many it dropped. Their sessions are final and
// were all returned by Add already; nothing is emitted. It scans every
// visitor: call it periodically (say every few seconds or every few
// thousand events), not per event.
func (s *Sessionizer) Expire(watermark time.Time) int {
	cut := watermark.UnixNano() - s.allowance
	n := 0
	for id, v := range s.visitors {
		if v.latest() < cut {
			delete(s.visitors, id)
			s.stats.Events -= uint64(len(v.events))
			s.stats.Sessions -= uint64(len(v.sessions))
			n++
		}
	}
	s.stats.Expired += uint64(n)
	// Maps do not shrink; rebuild one that emptied out.
	if s.peakVisitor > 1024 && len(s.visitors) < s.peakVisitor/4 {
		m := make(map[string]*visitor, len(s.visitors))
		for id, v := range s.visitors {
			m[id] = v
		}
		s.visitors = m
		s.peakVisitor = len(m)
	}
	return n
}

// Stats returns the counters.
func (s *Sessionizer) Stats() Stats {
	st := s.stats
	st.Visitors = uint64(len(s.visitors))
	return st
}

// messageKey is the 64-bit FNV-1a hash of a MessageID: the deduplication key
// and the tie-breaker between events of the same visitor at the same time.
// It is stable across processes and versions, so replays order ties the
// same way.
func messageKey(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// summary is what is retained of one event: 32 bytes. Strings live once per
// visitor in its tables.
type summary struct {
	t     int64  // EventTime, Unix nanoseconds
	key   uint64 // messageKey(MessageID)
	eng   uint32 // EngagementMS clamped to [0, EngagementCap]
	aux   uint32 // a view: index into visitor.pages; a conversion: into visitor.revenue
	attrs uint32 // index into visitor.attrs
	kind  uint8  // kindOther, kindView or kindConversion
}

const (
	kindOther uint8 = iota
	kindView
	kindConversion
)

// less orders events by time, then by key.
func (a *summary) less(b *summary) bool {
	return a.t < b.t || (a.t == b.t && a.key < b.key)
}

// attrs are the fields a session takes from its first event (UserID: from
// its first event that has one).
type attrs struct {
	touchpoint, channel, utmSource, utmMedium, utmCampaign, deviceType, userID string
}

// hasCampaign reports whether the event carries a campaign: any UTM field
// set.
func (a *attrs) hasCampaign() bool {
	return a.utmSource != "" || a.utmMedium != "" || a.utmCampaign != ""
}

// visitor is the retained state of one visitor.
type visitor struct {
	id       string
	events   []summary          // sorted by (t, key)
	sessions []pipeline.Session // live sessions in order; they cover events exactly, in order
	pages    table[string]
	attrs    table[attrs]
	revenue  []float64
	seen     map[uint64]struct{} // keys of events, once events outgrows linearLimit
}

// linearLimit is the size up to which lookups scan a slice instead of
// keeping a map.
const linearLimit = 32

// latest is the time of the visitor's latest event.
func (v *visitor) latest() int64 { return v.events[len(v.events)-1].t }

func (v *visitor) has(key uint64) bool {
	if v.seen != nil {
		_, ok := v.seen[key]
		return ok
	}
	for i := range v.events {
		if v.events[i].key == key {
			return true
		}
	}
	return false
}

// addKey records key after its event was inserted.
func (v *visitor) addKey(key uint64) {
	if v.seen != nil {
		v.seen[key] = struct{}{}
		return
	}
	if len(v.events) > linearLimit {
		v.seen = make(map[uint64]struct{}, len(v.events))
		for i := range v.events {
			v.seen[v.events[i].key] = struct{}{}
		}
	}
}

// summarize interns e's strings into v's tables and returns its summary.
func (v *visitor) summarize(e *pipeline.Event, t int64, key uint64, engCapMS uint32) summary {
	ev := summary{
		t:   t,
		key: key,
		attrs: v.attrs.id(attrs{
			touchpoint:  e.Touchpoint,
			channel:     e.Channel,
			utmSource:   e.UTMSource,
			utmMedium:   e.UTMMedium,
			utmCampaign: e.UTMCampaign,
			deviceType:  e.DeviceType,
			userID:      e.UserID,
		}, cloneAttrs),
	}
	switch {
	case e.EngagementMS >= int64(engCapMS):
		ev.eng = engCapMS
	case e.EngagementMS > 0:
		ev.eng = uint32(e.EngagementMS)
	}
	switch {
	case e.IsView():
		ev.kind = kindView
		ev.aux = v.pages.id(e.PagePath, strings.Clone)
	case e.IsConversion():
		ev.kind = kindConversion
		ev.aux = uint32(len(v.revenue))
		v.revenue = append(v.revenue, e.Revenue)
	}
	return ev
}

// open starts a session with ev; id is its SessionID if known.
func (v *visitor) open(ev *summary, id string) pipeline.Session {
	start := time.Unix(0, ev.t).UTC()
	if id == "" {
		id = SessionID(v.id, start)
	}
	a := &v.attrs.vals[ev.attrs]
	ss := pipeline.Session{
		SessionID:   id,
		VisitorID:   v.id,
		Start:       start,
		Touchpoint:  a.touchpoint,
		Channel:     a.channel,
		UTMSource:   a.utmSource,
		UTMMedium:   a.utmMedium,
		UTMCampaign: a.utmCampaign,
		DeviceType:  a.deviceType,
	}
	v.fold(&ss, ev)
	return ss
}

// fold adds ev, the session's new last event, to ss.
func (v *visitor) fold(ss *pipeline.Session, ev *summary) {
	ss.End = time.Unix(0, ev.t).UTC()
	ss.Events++
	ss.EngagedMS += int64(ev.eng)
	if ss.UserID == "" {
		ss.UserID = v.attrs.vals[ev.attrs].userID
	}
	switch ev.kind {
	case kindView:
		ss.PageViews++
		page := v.pages.vals[ev.aux]
		if ss.PageViews == 1 {
			ss.EntryPage = page
		}
		ss.ExitPage = page
	case kindConversion:
		ss.Conversions++
		ss.Revenue += v.revenue[ev.aux]
	}
}

// compact rebuilds the tables from the retained events, dropping values
// only pruned events used.
func (v *visitor) compact() {
	var pages table[string]
	var at table[attrs]
	var revenue []float64
	for i := range v.events {
		ev := &v.events[i]
		ev.attrs = at.id(v.attrs.vals[ev.attrs], nil)
		switch ev.kind {
		case kindView:
			ev.aux = pages.id(v.pages.vals[ev.aux], nil)
		case kindConversion:
			revenue = append(revenue, v.revenue[ev.aux])
			ev.aux = uint32(len(revenue) - 1)
		}
	}
	v.pages, v.attrs, v.revenue = pages, at, revenue
}

func cloneAttrs(a attrs) attrs {
	return attrs{
		touchpoint:  strings.Clone(a.touchpoint),
		channel:     strings.Clone(a.channel),
		utmSource:   strings.Clone(a.utmSource),
		utmMedium:   strings.Clone(a.utmMedium),
		utmCampaign: strings.Clone(a.utmCampaign),
		deviceType:  strings.Clone(a.deviceType),
		userID:      strings.Clone(a.userID),
	}
}

// table interns values: each distinct value is stored once and named by its
// index.
type table[T comparable] struct {
	vals  []T
	index map[T]uint32 // once vals outgrows linearLimit
}

// id returns the index of x, adding clone(x) (x if clone is nil) if new.
// Cloning copies strings out of the caller's event, so the table does not
// keep a decoder's buffers alive.
func (t *table[T]) id(x T, clone func(T) T) uint32 {
	if t.index != nil {
		if i, ok := t.index[x]; ok {
			return i
		}
	} else {
		for i := len(t.vals) - 1; i >= 0; i-- {
			if t.vals[i] == x {
				return uint32(i)
			}
		}
	}
	if clone != nil {
		x = clone(x)
	}
	i := uint32(len(t.vals))
	t.vals = append(t.vals, x)
	switch {
	case t.index != nil:
		t.index[x] = i
	case len(t.vals) > linearLimit:
		t.index = make(map[T]uint32, len(t.vals))
		for j, y := range t.vals {
			t.index[y] = uint32(j)
		}
	}
	return i
}
