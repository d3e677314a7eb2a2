package sessionize

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/touchstream/touchstream/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGolden runs every testdata/NAME.jsonl (events in arrival order) and
// compares the changes Add returned, the final live sessions, SessionOf for
// every event and the stats with testdata/NAME.golden. It also checks the
// final sessions against an independent reference sessionizer and, for cases
// without late events, that every arrival order gives the same sessions.
//
// Input: one pipeline.Event as JSON per line; blank lines and lines starting
// with "#" are ignored, except "#config key=value ..." (durations gap,
// max_duration, allowance, engagement_cap; the bool split_on_campaign)
// which sets the Config.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.jsonl")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jsonl")
		t.Run(name, func(t *testing.T) {
			cfg, events := readCase(t, file)
			got, live := runCase(t, cfg, events)

			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", golden, lineDiff(string(want), string(got)))
			}

			checkPermutations(t, cfg, events, live)
		})
	}
}

func readCase(t *testing.T, file string) (Config, []pipeline.Event) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := DefaultConfig()
	var events []pipeline.Event
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "#config"); ok {
			for _, kv := range strings.Fields(rest) {
				k, val, _ := strings.Cut(kv, "=")
				if k == "split_on_campaign" {
					b, err := strconv.ParseBool(val)
					if err != nil {
						t.Fatalf("%s:%d: %v", file, n, err)
					}
					cfg.SplitOnCampaign = b
					continue
				}
				d, err := time.ParseDuration(val)
				if err != nil {
					t.Fatalf("%s:%d: %v", file, n, err)
				}
				switch k {
				case "gap":
					cfg.Gap = d
				case "max_duration":
					cfg.MaxDuration = d
				case "allowance":
					cfg.Allowance = d
				case "engagement_cap":
					cfg.EngagementCap = d
				default:
					t.Fatalf("%s:%d: unknown config key %q", file, n, k)
				}
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var e pipeline.Event
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s:%d: %v", file, n, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cfg, events
}

// runCase adds events in order with now = (i+1)*100 ns and renders what
// happened. It returns the rendering and the final live sessions.
func runCase(t *testing.T, cfg Config, events []pipeline.Event) ([]byte, []pipeline.Session) {
	t.Helper()
	s := New(cfg)
	ls := newLiveSet(t)
	var b bytes.Buffer
	var accepted []pipeline.Event

	b.WriteString("# changes: each Add in arrival order, then the sessions it returned\n")
	for i, e := range events {
		before := s.Stats()
		out := s.Add(e, time.Unix(0, int64(i+1)*100))
		after := s.Stats()
		fmt.Fprintf(&b, "add %s %s %s", e.MessageID, e.VisitorID, e.EventTime.UTC().Format(time.RFC3339Nano))
		switch {
		case after.Duplicates > before.Duplicates:
			b.WriteString("  duplicate")
		case after.Late > before.Late:
			b.WriteString("  late")
		default:
			accepted = append(accepted, e)
		}
		b.WriteString("\n")
		for _, ss := range out {
			op := "upsert"
			if ss.Deleted {
				op = "delete"
			}
			fmt.Fprintf(&b, "  %s %s v=%d %s .. %s events=%d\n", op, ss.SessionID, ss.Version,
				ss.Start.Format(time.RFC3339Nano), ss.End.Format(time.RFC3339Nano), ss.Events)
		}
		ls.apply(out)
	}

	live := ls.sessions()
	if ref := reference(cfg, accepted); !sameSessions(live, ref) {
		t.Errorf("live sessions differ from the reference sessionizer:\nlive: %v\nref:  %v", live, ref)
	}

	b.WriteString("\n# final live sessions\n")
	for _, ss := range live {
		fmt.Fprintf(&b, "%s visitor=%s user=%q\n", ss.SessionID, ss.VisitorID, ss.UserID)
		fmt.Fprintf(&b, "  start=%s end=%s duration=%v\n",
			ss.Start.Format(time.RFC3339Nano), ss.End.Format(time.RFC3339Nano), ss.Duration())
		fmt.Fprintf(&b, "  events=%d page_views=%d engaged_ms=%d entry=%q exit=%q engaged=%v\n",
			ss.Events, ss.PageViews, ss.EngagedMS, ss.EntryPage, ss.ExitPage, ss.Engaged())
		fmt.Fprintf(&b, "  touchpoint=%q channel=%q utm=%q/%q/%q device=%q\n",
			ss.Touchpoint, ss.Channel, ss.UTMSource, ss.UTMMedium, ss.UTMCampaign, ss.DeviceType)
		fmt.Fprintf(&b, "  conversions=%d revenue=%s\n", ss.Conversions, strconv.FormatFloat(ss.Revenue, 'f', -1, 64))
	}

	b.WriteString("\n# SessionOf each event\n")
	for _, e := range events {
		fmt.Fprintf(&b, "%s %s %q\n", e.VisitorID, e.MessageID, s.SessionOf(e.VisitorID, e.MessageID))
	}

	st := s.Stats()
	fmt.Fprintf(&b, "\n# stats\nvisitors=%d events=%d sessions=%d added=%d duplicates=%d late=%d tombstones=%d expired=%d\n",
		st.Visitors, st.Events, st.Sessions, st.Added, st.Duplicates, st.Late, st.Tombstones, st.Expired)
	return b.Bytes(), live
}

// checkPermutations re-runs a case in other arrival orders (all of them up
// to 7 events, else 300 shuffles) and compares the final live sessions.
// Orders in which an event is late are skipped (arrival order decides what
// is late), as are cases whose duplicates differ in time (the first to
// arrive wins) and cases that have a late event in file order.
func checkPermutations(t *testing.T, cfg Config, events []pipeline.Event, want []pipeline.Session) {
	t.Helper()
	s := New(cfg)
	for i, e := range events {
		s.Add(e, time.Unix(0, int64(i+1)))
	}
	if s.Stats().Late > 0 {
		return
	}
	first := map[[2]string]time.Time{}
	for _, e := range events {
		k := [2]string{e.VisitorID, e.MessageID}
		if t0, ok := first[k]; ok && !t0.Equal(e.EventTime) {
			return
		}
		first[k] = e.EventTime
	}
	tried := 0
	try := func(order []pipeline.Event) bool {
		s := New(cfg)
		ls := newLiveSet(t)
		for i, e := range order {
			ls.apply(s.Add(e, time.Unix(0, int64(i+1))))
		}
		if s.Stats().Late > 0 {
			return true
		}
		tried++
		if got := ls.sessions(); !sameSessions(got, want) {
			t.Errorf("arrival order %v: live sessions\n%v\nwant\n%v", ids(order), got, want)
			return false
		}
		return true
	}
	defer func() {
		if tried == 0 {
			t.Error("no arrival order without late events")
		}
	}()
	if len(events) <= 7 {
		permute(slices.Clone(events), 0, try)
		return
	}
	r := rand.New(rand.NewPCG(1, uint64(len(events))))
	order := slices.Clone(events)
	for range 300 {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		if !try(order) {
			return
		}
	}
}

// permute calls f with every permutation of a[k:], stopping when f returns
// false.
func permute(a []pipeline.Event, k int, f func([]pipeline.Event) bool) bool {
	if k == len(a) {
		return f(a)
	}
	for i := k; i < len(a); i++ {
		a[k], a[i] = a[i], a[k]
		ok := permute(a, k+1, f)
		a[k], a[i] = a[i], a[k]
		if !ok {
			return false
		}
	}
	return true
}

func ids(events []pipeline.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.MessageID
	}
	return out
}

// liveSet applies returned sessions the way ReplacingMergeTree(version,
// is_deleted) keyed by (visitor_id, session_id) does, checking the output
// contract on the way: versions strictly increase, a tombstone repeats a
// live session's fields.
type liveSet struct {
	t       *testing.T
	m       map[[2]string]pipeline.Session
	version uint64
}

func newLiveSet(t *testing.T) *liveSet {
	return &liveSet{t: t, m: make(map[[2]string]pipeline.Session)}
}

func (l *liveSet) apply(out []pipeline.Session) {
	l.t.Helper()
	for _, ss := range out {
		if ss.Version <= l.version {
			l.t.Fatalf("version %d after %d: not strictly increasing", ss.Version, l.version)
		}
		l.version = ss.Version
		if ss.SessionID != SessionID(ss.VisitorID, ss.Start) {
			l.t.Fatalf("session %s: id is not SessionID(%q, %v)", ss.SessionID, ss.VisitorID, ss.Start)
		}
		k := [2]string{ss.VisitorID, ss.SessionID}
		if !ss.Deleted {
			l.m[k] = ss
			continue
		}
		prev, ok := l.m[k]
		if !ok {
			l.t.Fatalf("tombstone for %s, which is not live", ss.SessionID)
		}
		ss.Deleted, ss.Version = false, prev.Version
		if ss != prev {
			l.t.Fatalf("tombstone fields differ from the live session:\n%+v\n%+v", ss, prev)
		}
		delete(l.m, k)
	}
}

// sessions returns the live sessions by visitor and start, Version zeroed.
func (l *liveSet) sessions() []pipeline.Session {
	out := make([]pipeline.Session, 0, len(l.m))
	for _, ss := range l.m {
		ss.Version = 0
		out = append(out, ss)
	}
	sortSessions(out)
	return out
}

func sortSessions(ss []pipeline.Session) {
	slices.SortFunc(ss, func(a, b pipeline.Session) int {
		return cmp.Or(strings.Compare(a.VisitorID, b.VisitorID), a.Start.Compare(b.Start))
	})
}

func sameSessions(a, b []pipeline.Session) bool {
	return slices.EqualFunc(a, b, func(x, y pipeline.Session) bool {
		return x.SessionID == y.SessionID && x.VisitorID == y.VisitorID && x.UserID == y.UserID &&
			x.Start.Equal(y.Start) && x.End.Equal(y.End) && x.Events == y.Events &&
			x.PageViews == y.PageViews && x.EngagedMS == y.EngagedMS &&
			x.EntryPage == y.EntryPage && x.ExitPage == y.ExitPage &&
			x.Touchpoint == y.Touchpoint && x.Channel == y.Channel &&
			x.UTMSource == y.UTMSource && x.UTMMedium == y.UTMMedium && x.UTMCampaign == y.UTMCampaign &&
			x.DeviceType == y.DeviceType && x.Conversions == y.Conversions && x.Revenue == y.Revenue &&
			x.Deleted == y.Deleted
	})
}

// reference sessionizes events (no duplicates, none late) in one pass over
// each visitor's sorted events, straight from the definition. It is the
// oracle for the incremental Sessionizer.
func reference(cfg Config, events []pipeline.Event) []pipeline.Session {
	out, _ := referenceWithEvents(cfg, events)
	return out
}

func referenceWithEvents(cfg Config, events []pipeline.Event) ([]pipeline.Session, map[[2]string]string) {
	cfg = cfg.withDefaults()
	of := map[[2]string]string{}
	byVisitor := map[string][]pipeline.Event{}
	for _, e := range events {
		byVisitor[e.VisitorID] = append(byVisitor[e.VisitorID], e)
	}
	var out []pipeline.Session
	for vid, evs := range byVisitor {
		slices.SortFunc(evs, func(a, b pipeline.Event) int {
			return cmp.Or(a.EventTime.Compare(b.EventTime), cmp.Compare(messageKey(a.MessageID), messageKey(b.MessageID)))
		})
		var cur *pipeline.Session
		var prev time.Time
		for _, e := range evs {
			// The campaign rule: e carries a campaign (any UTM field set)
			// other than the one of the session's first event, and is later
			// than the event before it (ties stay together).
			utm := [3]string{e.UTMSource, e.UTMMedium, e.UTMCampaign}
			newCampaign := cfg.SplitOnCampaign && cur != nil && e.EventTime.After(prev) && utm != [3]string{} &&
				utm != [3]string{cur.UTMSource, cur.UTMMedium, cur.UTMCampaign}
			if cur == nil || e.EventTime.Sub(prev) > cfg.Gap || e.EventTime.Sub(cur.Start) >= cfg.MaxDuration || newCampaign {
				if cur != nil {
					out = append(out, *cur)
				}
				cur = &pipeline.Session{
					SessionID: SessionID(vid, e.EventTime), VisitorID: vid, Start: e.EventTime.UTC(),
					Touchpoint: e.Touchpoint, Channel: e.Channel, UTMSource: e.UTMSource,
					UTMMedium: e.UTMMedium, UTMCampaign: e.UTMCampaign, DeviceType: e.DeviceType,
				}
			}
			prev = e.EventTime
			of[[2]string{vid, e.MessageID}] = cur.SessionID
			cur.End = e.EventTime.UTC()
			cur.Events++
			cur.EngagedMS += min(max(e.EngagementMS, 0), cfg.EngagementCap.Milliseconds())
			if cur.UserID == "" {
				cur.UserID = e.UserID
			}
			if e.IsView() {
				cur.PageViews++
				if cur.PageViews == 1 {
					cur.EntryPage = e.PagePath
				}
				cur.ExitPage = e.PagePath
			}
			if e.IsConversion() {
				cur.Conversions++
				cur.Revenue += e.Revenue
			}
		}
		out = append(out, *cur)
	}
	sortSessions(out)
	return out, of
}

// checkInvariants checks the Sessionizer's state against itself: events
// strictly ordered, sessions covering them exactly and equal to a rebuild
// from scratch, the dedup index and the counters in step.
func checkInvariants(t *testing.T, s *Sessionizer) {
	t.Helper()
	var events, sessions uint64
	for id, v := range s.visitors {
		if v.id != id || len(v.events) == 0 || len(v.sessions) == 0 {
			t.Fatalf("visitor %q: id %q, %d events, %d sessions", id, v.id, len(v.events), len(v.sessions))
		}
		for i := 1; i < len(v.events); i++ {
			if !v.events[i-1].less(&v.events[i]) {
				t.Fatalf("visitor %s: events %d and %d out of order", id, i-1, i)
			}
		}
		covered := 0
		for _, ss := range v.sessions {
			covered += ss.Events
		}
		if covered != len(v.events) {
			t.Fatalf("visitor %s: sessions cover %d of %d events", id, covered, len(v.events))
		}
		rebuilt := s.build(v, 0, nil)
		if len(rebuilt) != len(v.sessions) {
			t.Fatalf("visitor %s: %d sessions, a rebuild gives %d", id, len(v.sessions), len(rebuilt))
		}
		for i := range rebuilt {
			rebuilt[i].Version = v.sessions[i].Version
			if rebuilt[i] != v.sessions[i] {
				t.Fatalf("visitor %s: session %d is\n%+v\na rebuild gives\n%+v", id, i, v.sessions[i], rebuilt[i])
			}
		}
		if v.seen != nil && len(v.seen) != len(v.events) {
			t.Fatalf("visitor %s: dedup index has %d keys for %d events", id, len(v.seen), len(v.events))
		}
		events += uint64(len(v.events))
		sessions += uint64(len(v.sessions))
	}
	if st := s.Stats(); st.Events != events || st.Sessions != sessions {
		t.Fatalf("stats say %d events, %d sessions; state has %d, %d", st.Events, st.Sessions, events, sessions)
	}
}

// referenceOf maps each event (visitor, message id) to its session id by
// the reference sessionizer.
func referenceOf(cfg Config, events []pipeline.Event) map[[2]string]string {
	_, of := referenceWithEvents(cfg, events)
	return of
}

// genEvents makes random events for visitors, with inter-event steps that
// hit the Gap boundary exactly and on either side, ties, long runs that
// reach MaxDuration, and about 5% exact duplicates (same MessageID, same
// fields). span bounds each visitor's first-to-last event time.
func genEvents(r *rand.Rand, cfg Config, visitors, perVisitor int, span time.Duration) []pipeline.Event {
	cfg = cfg.withDefaults()
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	pages := []string{"/", "/pricing", "/docs", "/blog/a", "/checkout", ""}
	sources := []string{"", "google", "newsletter"}
	var out []pipeline.Event
	for v := range visitors {
		vid := fmt.Sprintf("v%02d", v)
		t := base.Add(time.Duration(r.Int64N(int64(time.Hour))))
		end := t.Add(span)
		for k := 0; k < perVisitor && !t.After(end); k++ {
			e := pipeline.Event{
				MessageID:    fmt.Sprintf("%s-m%03d", vid, k),
				EventTime:    t,
				VisitorID:    vid,
				Touchpoint:   []string{pipeline.TouchpointWeb, pipeline.TouchpointApp}[r.IntN(2)],
				Channel:      []string{"Direct", "Organic Search", "Email"}[r.IntN(3)],
				UTMSource:    sources[r.IntN(len(sources))],
				DeviceType:   []string{"desktop", "mobile"}[r.IntN(2)],
				EngagementMS: r.Int64N(int64(2*cfg.EngagementCap/time.Millisecond)) - 1000,
			}
			if r.IntN(3) == 0 {
				e.UserID = "u-" + vid
			}
			switch r.IntN(6) {
			case 0, 1:
				e.Type, e.PagePath = pipeline.TypePage, pages[r.IntN(len(pages))]
			case 2:
				e.Type, e.EventName, e.PagePath = pipeline.TypeScreen, "Home", pages[r.IntN(len(pages))]
			case 3:
				e.Type, e.EventName, e.Revenue = pipeline.TypeTrack, pipeline.EventOrderCompleted, float64(r.IntN(400))/4
			case 4:
				e.Type, e.EventName, e.Revenue = pipeline.TypeTrack, pipeline.EventProductAdded, float64(r.IntN(400))/4
			default:
				e.Type = pipeline.TypeIdentify
			}
			out = append(out, e)
			if r.IntN(20) == 0 {
				out = append(out, e)
			}
			var step time.Duration
			switch r.IntN(10) {
			case 0:
				step = 0
			case 1:
				step = cfg.Gap
			case 2:
				step = cfg.Gap - time.Millisecond
			case 3:
				step = cfg.Gap + time.Millisecond
			case 4:
				step = cfg.Gap + time.Duration(r.Int64N(int64(3*cfg.Gap)))
			default:
				step = time.Duration(r.Int64N(int64(cfg.Gap)))
			}
			t = t.Add(step.Truncate(time.Millisecond))
		}
	}
	return out
}

func dedup(events []pipeline.Event) []pipeline.Event {
	seen := map[[2]string]bool{}
	var out []pipeline.Event
	for _, e := range events {
		k := [2]string{e.VisitorID, e.MessageID}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// TestShuffledArrival: any arrival order gives the same final live sessions
// as sorted arrival, and both match the reference; SessionOf agrees too.
// Each seed runs without and with SplitOnCampaign (genEvents varies
// UTMSource).
func TestShuffledArrival(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprint("split_on_campaign=", split), func(t *testing.T) { testShuffledArrival(t, split) })
	}
}

func testShuffledArrival(t *testing.T, split bool) {
	cfg := Config{Gap: 5 * time.Minute, MaxDuration: time.Hour, Allowance: 24 * time.Hour, EngagementCap: time.Minute, SplitOnCampaign: split}
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			events := genEvents(r, cfg, 8, 80, 20*time.Hour)
			unique := dedup(events)
			want := reference(cfg, unique)
			wantOf := referenceOf(cfg, unique)

			sorted := slices.Clone(events)
			slices.SortStableFunc(sorted, func(a, b pipeline.Event) int { return a.EventTime.Compare(b.EventTime) })
			shuffled := slices.Clone(events)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

			for name, order := range map[string][]pipeline.Event{"sorted": sorted, "shuffled": shuffled} {
				s := New(cfg)
				ls := newLiveSet(t)
				for i, e := range order {
					ls.apply(s.Add(e, time.Unix(0, int64(i))))
					if i%50 == 0 {
						checkInvariants(t, s)
					}
				}
				checkInvariants(t, s)
				if got := ls.sessions(); !sameSessions(got, want) {
					t.Fatalf("%s arrival: %d live sessions, reference %d\n got %v\nwant %v", name, len(got), len(want), got, want)
				}
				st := s.Stats()
				if st.Late != 0 || st.Added != uint64(len(unique)) || st.Duplicates != uint64(len(events)-len(unique)) {
					t.Fatalf("%s arrival: stats %+v for %d events, %d unique", name, st, len(events), len(unique))
				}
				if st.Sessions != uint64(len(want)) || st.Events != uint64(len(unique)) {
					t.Fatalf("%s arrival: stats %+v, want %d sessions and %d events retained", name, st, len(want), len(unique))
				}
				for _, e := range unique {
					if got, want := s.SessionOf(e.VisitorID, e.MessageID), wantOf[[2]string{e.VisitorID, e.MessageID}]; got != want {
						t.Fatalf("%s arrival: SessionOf(%s, %s) = %q, want %q", name, e.VisitorID, e.MessageID, got, want)
					}
				}
			}
		})
	}
}

// TestBoundedDisorderPrunes: over days of events with a short Allowance,
// arrival delayed by up to Allowance (so nothing is late) still gives the
// reference sessions, while settled sessions are pruned from state; without
// and with SplitOnCampaign.
func TestBoundedDisorderPrunes(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprint("split_on_campaign=", split), func(t *testing.T) { testBoundedDisorderPrunes(t, split) })
	}
}

func testBoundedDisorderPrunes(t *testing.T, split bool) {
	cfg := Config{Gap: 5 * time.Minute, MaxDuration: time.Hour, Allowance: 30 * time.Minute, EngagementCap: time.Minute, SplitOnCampaign: split}
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			events := genEvents(r, cfg, 4, 1500, 7*24*time.Hour)
			unique := dedup(events)
			type arrival struct {
				at time.Time
				e  pipeline.Event
			}
			var order []arrival
			for _, e := range events {
				order = append(order, arrival{e.EventTime.Add(time.Duration(r.Int64N(int64(cfg.Allowance) + 1))), e})
			}
			slices.SortStableFunc(order, func(a, b arrival) int { return a.at.Compare(b.at) })

			s := New(cfg)
			ls := newLiveSet(t)
			for i, a := range order {
				ls.apply(s.Add(a.e, time.Unix(0, int64(i))))
				if i%500 == 0 {
					checkInvariants(t, s)
				}
			}
			checkInvariants(t, s)
			if got, want := ls.sessions(), reference(cfg, unique); !sameSessions(got, want) {
				t.Fatalf("%d live sessions, reference %d", len(got), len(want))
			}
			st := s.Stats()
			if st.Late != 0 {
				t.Fatalf("late %d with delays within Allowance", st.Late)
			}
			if st.Events >= st.Added/4 {
				t.Fatalf("retained %d of %d events: settled sessions not pruned", st.Events, st.Added)
			}
			wantOf := referenceOf(cfg, unique)
			retained := 0
			for _, e := range unique {
				got := s.SessionOf(e.VisitorID, e.MessageID)
				if got == "" {
					continue
				}
				retained++
				if want := wantOf[[2]string{e.VisitorID, e.MessageID}]; got != want {
					t.Fatalf("SessionOf(%s, %s) = %q, want %q", e.VisitorID, e.MessageID, got, want)
				}
			}
			if uint64(retained) != st.Events {
				t.Fatalf("SessionOf knows %d events, stats say %d retained", retained, st.Events)
			}
		})
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func page(id, visitor, when string) pipeline.Event {
	return pipeline.Event{MessageID: id, VisitorID: visitor, EventTime: at(when), Type: pipeline.TypePage, PagePath: "/"}
}

func TestExpire(t *testing.T) {
	s := New(DefaultConfig())
	s.Add(page("a1", "a", "2025-03-01T10:00:00Z"), time.Time{})
	s.Add(page("b1", "b", "2025-03-01T12:00:00Z"), time.Time{})
	s.Add(page("b2", "b", "2025-03-01T12:10:00Z"), time.Time{})

	tests := []struct {
		watermark string
		dropped   int
		visitors  uint64
	}{
		{"2025-03-02T10:00:00Z", 0, 2},           // a's latest is exactly watermark - Allowance: kept
		{"2025-03-02T10:00:00.000000001Z", 1, 1}, // a is older: dropped
		{"2025-03-02T12:10:00Z", 0, 1},
		{"2025-03-03T00:00:00Z", 1, 0},
	}
	for _, tc := range tests {
		if got := s.Expire(at(tc.watermark)); got != tc.dropped {
			t.Errorf("Expire(%s) = %d, want %d", tc.watermark, got, tc.dropped)
		}
		if st := s.Stats(); st.Visitors != tc.visitors {
			t.Errorf("after Expire(%s): %d visitors, want %d", tc.watermark, st.Visitors, tc.visitors)
		}
	}
	if st := s.Stats(); st.Events != 0 || st.Sessions != 0 || st.Expired != 2 {
		t.Errorf("stats after expiring all: %+v", st)
	}
	if got := s.SessionOf("b", "b1"); got != "" {
		t.Errorf("SessionOf of an expired visitor = %q, want \"\"", got)
	}
	// An expired visitor starts afresh.
	out := s.Add(page("a2", "a", "2025-03-03T00:00:00Z"), time.Time{})
	if len(out) != 1 || out[0].Events != 1 {
		t.Errorf("Add after expiry returned %+v", out)
	}
}

func TestExpireShrinksMap(t *testing.T) {
	s := New(DefaultConfig())
	for i := range 5000 {
		s.Add(page("m", fmt.Sprint("v", i), "2025-03-01T10:00:00Z"), time.Time{})
	}
	s.Add(page("m", "late-comer", "2025-03-05T10:00:00Z"), time.Time{})
	if got := s.Expire(at("2025-03-05T10:00:00Z")); got != 5000 {
		t.Fatalf("Expire dropped %d, want 5000", got)
	}
	if s.peakVisitor != 1 || len(s.visitors) != 1 {
		t.Errorf("after rebuilding: peak %d, %d visitors", s.peakVisitor, len(s.visitors))
	}
}

func TestSessionOfUnknown(t *testing.T) {
	s := New(DefaultConfig())
	s.Add(page("m1", "v", "2025-03-01T10:00:00Z"), time.Time{})
	for _, tc := range []struct{ visitor, msg string }{{"v", "nope"}, {"w", "m1"}} {
		if got := s.SessionOf(tc.visitor, tc.msg); got != "" {
			t.Errorf("SessionOf(%q, %q) = %q, want \"\"", tc.visitor, tc.msg, got)
		}
	}
	if got, want := s.SessionOf("v", "m1"), SessionID("v", at("2025-03-01T10:00:00Z")); got != want {
		t.Errorf("SessionOf(v, m1) = %q, want %q", got, want)
	}
}

func TestVersion(t *testing.T) {
	s := New(DefaultConfig())
	nows := []time.Time{time.Unix(0, 1000), time.Unix(0, 500), {}, time.Unix(0, 5000), time.Unix(0, 5000)}
	want := []uint64{1000, 1001, 1002, 5000, 5001}
	for i, now := range nows {
		out := s.Add(page(fmt.Sprint("m", i), "v", "2025-03-01T10:00:00Z"), now)
		if len(out) != 1 || out[0].Version != want[i] {
			t.Fatalf("Add %d with now=%d: %+v, want one session at version %d", i, now.UnixNano(), out, want[i])
		}
	}
}

func TestSessionID(t *testing.T) {
	// sha256("v1\x002025-03-01T10:00:00.5Z"), first 16 bytes.
	start := time.Date(2025, 3, 1, 11, 0, 0, 5e8, time.FixedZone("CET", 3600))
	if got, want := SessionID("v1", start), "ee4fa219d236280c437cb84b91bbcb0f"; got != want {
		t.Errorf("SessionID = %s, want %s", got, want)
	}
	if SessionID("v1", start) == SessionID("v1", start.Add(time.Nanosecond)) {
		t.Error("SessionID ignores nanoseconds")
	}
	if SessionID("a", start) == SessionID("b", start) {
		t.Error("SessionID ignores the visitor")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero", Config{}, ""},
		{"default", DefaultConfig(), ""},
		{"negative gap", Config{Gap: -time.Second}, "Gap must not be negative"},
		{"negative allowance", Config{Allowance: -1}, "Allowance must not be negative"},
		{"huge engagement cap", Config{EngagementCap: 50 * 24 * time.Hour}, "EngagementCap must be at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
			defer func() {
				if recover() == nil {
					t.Error("New did not panic on an invalid Config")
				}
			}()
			New(tc.cfg)
		})
	}
	if got := (Config{}).withDefaults(); got != DefaultConfig() {
		t.Errorf("zero Config with defaults = %+v", got)
	}
}

func TestSummarySize(t *testing.T) {
	if got := unsafe.Sizeof(summary{}); got != 32 {
		t.Errorf("summary is %d bytes, want 32", got)
	}
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n   got: %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
