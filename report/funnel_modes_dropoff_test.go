package report

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// dropped renders a drop-off list as "unit:visitor:user:step_time:channel"
// entries (unit the person or session, else the visitor; step_time as
// RFC 3339 with milliseconds), for comparison with hand-computed lists.
func dropped(vs []DroppedVisitor) string {
	var out []string
	for _, v := range vs {
		unit := v.VisitorID
		switch {
		case v.PersonID != "":
			unit = v.PersonID + "[" + strings.Join(v.VisitorIDs, " ") + "]"
		case v.SessionID != "":
			unit = v.SessionID
		}
		out = append(out, fmt.Sprintf("%s:%s:%s:%s:%s", unit, v.VisitorID, v.UserID, v.StepTime.UTC().Format("15:04:05.000"), v.Channel))
	}
	return strings.Join(out, " ")
}

// TestFunnelModesDropoff: drop-off lists in modes strict and any, by
// visitor, hand-computed (funnel_modes_dropoff.sql).
func TestFunnelModesDropoff(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := time.Second
	insertFull(t, conn,
		// a: View, Cart, then Other breaks its only strict chain before
		// the Buy. strict: reaches Cart, next Other. any (and ordered):
		// reaches Buy.
		fev{id: "a1", visitor: "a", name: "View", at: t0},
		fev{id: "a2", visitor: "a", name: "Cart", at: t0.Add(10 * s), channel: "Email"},
		fev{id: "a3", visitor: "a", name: "Other", at: t0.Add(20 * s), user: "u-a"},
		fev{id: "a4", visitor: "a", name: "Buy", at: t0.Add(30 * s)},
		// b: Cart exactly at the window's end (counts), Buy 1 ms past it.
		// Both modes: reaches Cart at t0 + 1 day, next Buy.
		fev{id: "b1", visitor: "b", name: "View", at: t0},
		fev{id: "b2", visitor: "b", name: "Cart", at: t0.Add(day), channel: "Direct"},
		fev{id: "b3", visitor: "b", name: "Buy", at: t0.Add(day + time.Millisecond)},
		// c: Cart 1 ms past the window: both modes stop at View (t0),
		// next Cart.
		fev{id: "c1", visitor: "c", name: "View", at: t0, channel: "Social"},
		fev{id: "c2", visitor: "c", name: "Cart", at: t0.Add(day + time.Millisecond)},
		// d: Cart before View. strict: View at 15 s only, next Search.
		// any: reaches Cart with a = 5 s, completed by the View at 15 s
		// (Social), next Search.
		fev{id: "d1", visitor: "d", name: "Cart", at: t0.Add(5 * s), channel: "Email"},
		fev{id: "d2", visitor: "d", name: "View", at: t0.Add(15 * s), channel: "Social"},
		fev{id: "d3", visitor: "d", name: "Search", at: t0.Add(16 * s)},
		// e: Other in the Cart's millisecond, with a larger message id.
		// strict: it follows the Cart in the sequence, so it is the next
		// event; any: only events strictly after the Cart's time count,
		// so the next event is the page view.
		fev{id: "e1", visitor: "e", name: "View", at: t0.Add(1 * s), user: "u-e1"},
		fev{id: "e2", visitor: "e", name: "Cart", at: t0.Add(2 * s), channel: "Paid Search"},
		fev{id: "e3", visitor: "e", name: "Other", at: t0.Add(2 * s), user: "u-e3"},
		fev{id: "e4", visitor: "e", typ: "page", path: "/x", at: t0.Add(3 * s)},
	)
	steps := []string{"View", "Cart", "Buy"}
	for _, tc := range []struct {
		mode string
		k    int
		want string
		next []NextEvent
	}{
		{ModeStrict, 2, "e:e:u-e3:10:00:02.000:Paid Search a:a:u-a:10:00:10.000:Email b:b::10:00:00.000:Direct",
			[]NextEvent{{"Other", 2}, {"Buy", 1}}},
		{ModeStrict, 1, "c:c::10:00:00.000:Social d:d::10:00:15.000:Social", []NextEvent{{"Cart", 1}, {"Search", 1}}},
		{ModeAny, 2, "e:e:u-e3:10:00:02.000:Paid Search d:d::10:00:15.000:Social b:b::10:00:00.000:Direct",
			[]NextEvent{{"Buy", 1}, {"Search", 1}, {"page:/x", 1}}},
		{ModeAny, 1, "c:c::10:00:00.000:Social", []NextEvent{{"Cart", 1}}},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.mode, tc.k), func(t *testing.T) {
			got, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: steps,
				Window: day, Mode: tc.mode, Dropoff: tc.k})
			if err != nil {
				t.Fatal(err)
			}
			d := got.Dropoff
			if d == nil || d.Step != tc.k || d.StepName != steps[tc.k-1] {
				t.Fatalf("dropoff = %+v", d)
			}
			// b's step time is a day later: check the date too.
			if g := dropped(d.Visitors); g != tc.want {
				t.Errorf("dropped %q, want %q", g, tc.want)
			}
			for _, v := range d.Visitors {
				want := t0
				if v.VisitorID == "b" {
					want = t0.Add(day)
				}
				if y, m, dd := v.StepTime.Date(); time.Date(y, m, dd, 10, 0, 0, 0, time.UTC) != want {
					t.Errorf("%s: step_time %s, want the day of %s", v.VisitorID, v.StepTime, want)
				}
			}
			checkNext(t, d.NextEvents, tc.next)
		})
	}

	// The formats: the same rows as mode ordered.
	got, err := Funnel(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: steps,
		Window: day, Mode: ModeAny, Dropoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, got, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if want := "visitor_id,user_id,step_time,channel\nc,,2026-11-02T10:00:00.000Z,Social\n"; b.String() != want {
		t.Errorf("csv %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := Write(&b, got, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if want := `"dropoff":{"step":1,"step_name":"View","visitors":[{"visitor_id":"c","user_id":"","step_time":"2026-11-02T10:00:00Z","channel":"Social"}],"next_events":[{"event":"Cart","visitors":1}]}}`; !strings.Contains(b.String(), want) {
		t.Errorf("json %s, want it to contain %s", b.String(), want)
	}
	b.Reset()
	if err := Write(&b, got, FormatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2026-11-02 10:00:00") || !strings.Contains(b.String(), "Social") {
		t.Errorf("table:\n%s\nwant c's row", b.String())
	}

	// Empty: a range without events gives empty lists, in JSON too.
	for _, mode := range []string{ModeStrict, ModeAny} {
		got, err := Funnel(t.Context(), conn, Options{From: date(2026, 10, 1), To: date(2026, 10, 2), Steps: steps,
			Mode: mode, Dropoff: 2})
		if err != nil {
			t.Fatal(err)
		}
		b.Reset()
		if err := Write(&b, got, FormatJSON); err != nil {
			t.Fatal(err)
		}
		if want := `"dropoff":{"step":2,"step_name":"Cart","visitors":[],"next_events":[]}}`; !strings.Contains(b.String(), want) {
			t.Errorf("%s: json %s, want it to end with %s", mode, b.String(), want)
		}
		b.Reset()
		if err := Write(&b, got, FormatCSV); err != nil {
			t.Fatal(err)
		}
		if want := "visitor_id,user_id,step_time,channel\n"; b.String() != want {
			t.Errorf("%s: csv %q, want %q", mode, b.String(), want)
		}
	}
}

// TestFunnelModesDropoffBy: drop-off lists of modes strict and any by
// person (identity merges across devices change who drops where) and by
// session.
func TestFunnelModesDropoffBy(t *testing.T) {
	conn := migratedConn(t)
	exec(t, conn, `INSERT INTO events (message_id, event_time, event_name, visitor_id, user_id, session_id, traffic_channel, type) VALUES
		('1', '2026-11-02 10:00:00', 'View', 'phone', '', 's-p', 'Social', 'track'),
		('2', '2026-11-02 11:00:00', 'Cart', 'laptop', '', 's-l', 'Email', 'track'),
		('3', '2026-11-02 12:00:00', 'Wishlist', 'laptop', '', 's-l', 'Email', 'track'),
		('4', '2026-11-02 10:00:00', 'View', 'solo', 'u-solo', 's-a', 'Direct', 'track'),
		('5', '2026-11-02 10:05:00', 'Cart', 'solo', '', 's-a', 'Direct', 'track'),
		('6', '2026-11-02 13:00:00', 'Buy', 'solo', '', 's-b', 'Direct', 'track'),
		('7', '2026-11-02 10:00:00', 'View', 'p2', '', 's-c', 'Direct', 'track'),
		('8', '2026-11-02 10:00:30', 'Search', 'p3', '', 's-d', 'Direct', 'track'),
		('9', '2026-11-02 10:01:00', 'Cart', 'p2', '', 's-c', 'Paid Search', 'track')`)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('phone', 'user-1', '2026-11-02 09:00:00', '2026-11-02 09:00:00', 'identify', 'i1'),
		('laptop', 'user-1', '2026-11-01 08:00:00', '2026-11-01 08:00:00', 'identify', 'i2'),
		('p2', 'user-2', '2026-11-02 09:00:00', '2026-11-02 09:00:00', 'identify', 'i3'),
		('p3', 'user-2', '2026-11-02 09:00:00', '2026-11-02 09:00:00', 'identify', 'i4')`)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"View", "Cart", "Buy"}, Dropoff: 2}
	for _, tc := range []struct {
		mode, by string
		want     string
		next     []NextEvent
	}{
		// user-1: View on the phone, Cart on the laptop, nothing between:
		// both modes reach Cart, done on the laptop; next its Wishlist.
		// user-2: View (p2), Search (p3), Cart (p2): the Search breaks the
		// strict chain (user-2 stops at View); any reaches Cart at 10:01,
		// with nothing after. solo buys. The user id of a linked person is
		// its own, though no event carries it.
		{ModeStrict, ByPerson, "user-1[laptop phone]:laptop:user-1:11:00:00.000:Email", []NextEvent{{"Wishlist", 1}}},
		{ModeAny, ByPerson, "user-2[p2 p3]:p2:user-2:10:01:00.000:Paid Search user-1[laptop phone]:laptop:user-1:11:00:00.000:Email",
			[]NextEvent{{"Wishlist", 1}}},
		// By visitor p2 alone does View, Cart: it drops at Cart in both
		// modes; the phone and the laptop never reach Cart.
		{ModeStrict, ByVisitor, "p2:p2::10:01:00.000:Paid Search", nil},
		{ModeAny, ByVisitor, "p2:p2::10:01:00.000:Paid Search", nil},
		// By session: s-c (p2) and s-a (solo, whose Buy is in session s-b)
		// drop at Cart with nothing after in the session; solo's user id
		// is on its View.
		{ModeStrict, BySession, "s-c:p2::10:01:00.000:Paid Search s-a:solo:u-solo:10:05:00.000:Direct", nil},
		{ModeAny, BySession, "s-c:p2::10:01:00.000:Paid Search s-a:solo:u-solo:10:05:00.000:Direct", nil},
	} {
		t.Run(tc.mode+"/"+tc.by, func(t *testing.T) {
			o := opts
			o.Mode = tc.mode
			got, err := FunnelBy(t.Context(), conn, o, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			if g := dropped(got.Dropoff.Visitors); g != tc.want {
				t.Errorf("dropped %q, want %q", g, tc.want)
			}
			checkNext(t, got.Dropoff.NextEvents, tc.next)
			if tc.by != ByPerson || tc.mode != ModeAny {
				return
			}
			var b bytes.Buffer
			if err := Write(&b, got, FormatCSV); err != nil {
				t.Fatal(err)
			}
			want := "person_id,user_id,visitor_ids,visitor_id,step_time,channel\n" +
				"user-2,user-2,p2 p3,p2,2026-11-02T10:01:00.000Z,Paid Search\n" +
				"user-1,user-1,laptop phone,laptop,2026-11-02T11:00:00.000Z,Email\n"
			if b.String() != want {
				t.Errorf("csv %q, want %q", b.String(), want)
			}
			b.Reset()
			if err := Write(&b, got, FormatJSON); err != nil {
				t.Fatal(err)
			}
			if want := `{"person_id":"user-2","visitor_id":"p2","visitor_ids":["p2","p3"],"user_id":"user-2","step_time":"2026-11-02T10:01:00Z","channel":"Paid Search"}`; !strings.Contains(b.String(), want) {
				t.Errorf("json %s, want it to contain %s", b.String(), want)
			}
		})
	}
}

// TestFunnelModesDropoffReference compares the drop-off lists of modes
// strict and any (with and without exclusions) with an independent Go
// implementation of funnel_modes_dropoff.sql's definitions, on random
// visitors whose events often share a millisecond and fall exactly on the
// window's end. Every event has its own channel, so the step event is
// checked, not only its time.
func TestFunnelModesDropoffReference(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	const window = time.Minute
	names := []string{"View", "Cart", "Buy", "Other", "Search"}
	steps := names[:3]
	type event struct {
		id, name string
		at       time.Time
	}
	rng := rand.New(rand.NewPCG(6, 2))
	used := map[string]bool{}
	byVisitor := map[string][]event{}
	var rows []fev
	for v := range 300 {
		visitor := fmt.Sprintf("v%03d", v)
		for range 2 + rng.IntN(7) {
			id := fmt.Sprintf("%05d", rng.IntN(100000))
			for used[id] {
				id = fmt.Sprintf("%05d", rng.IntN(100000))
			}
			used[id] = true
			e := event{id: id, name: names[rng.IntN(len(names))], at: t0.Add(time.Duration(rng.IntN(16)) * 10 * time.Second)}
			byVisitor[visitor] = append(byVisitor[visitor], e)
			rows = append(rows, fev{id: id, visitor: visitor, name: e.name, at: e.at, channel: "ch-" + id})
		}
	}
	insertFull(t, conn, rows...)

	// reference: the dropped visitors of mode at step k as "visitor:time:channel"
	// and their next events' labels.
	reference := func(mode string, exclude bool, k int) (string, map[string]uint64) {
		var list []struct {
			at      time.Time
			visitor string
			entry   string
		}
		next := map[string]uint64{}
		w := window.Milliseconds()
		for visitor, evs := range byVisitor {
			evs := slices.Clone(evs)
			slices.SortFunc(evs, func(a, b event) int {
				if c := a.at.Compare(b.at); c != 0 {
					return c
				}
				return strings.Compare(a.id, b.id)
			})
			ms := func(i int) int64 { return evs[i].at.UnixMilli() }
			is := func(i, j int) bool { return evs[i].name == steps[j-1] }
			// first(j, a): the index of the first step-j event at or after a, -1 if none.
			first := func(j int, a int64) int {
				return slices.IndexFunc(evs, func(e event) bool { return e.name == steps[j-1] && e.at.UnixMilli() >= a })
			}
			// step(k): the index of the step event of the earliest way to reach k, -1 if none.
			step := func(k int) int {
				if mode == ModeStrict {
					for i := range evs {
						ok := i+k-1 < len(evs) && ms(i+k-1)-ms(i) <= w
						for j := 1; ok && j <= k; j++ {
							ok = is(i+j-1, j)
						}
						if ok {
							return i + k - 1
						}
					}
					return -1
				}
				var anchors []int64
				for i := range evs {
					for j := 1; j <= k; j++ {
						if is(i, j) {
							anchors = append(anchors, ms(i))
						}
					}
				}
				slices.Sort(anchors)
				for _, a := range anchors {
					c, ok := a, true
					for j := 1; j <= k && ok; j++ {
						f := first(j, a)
						ok = f >= 0 && ms(f)-a <= w
						if ok {
							c = max(c, ms(f))
						}
					}
					for i := range evs {
						if ok && exclude && evs[i].name == "Other" && ms(i) > a && ms(i) < c {
							ok = false
						}
					}
					if !ok {
						continue
					}
					for i := range evs {
						for j := 1; j <= k; j++ {
							if ms(i) == c && is(i, j) && ms(first(j, a)) == c {
								return i
							}
						}
					}
				}
				return -1
			}
			i := step(k)
			if i < 0 || step(k+1) >= 0 {
				continue
			}
			list = append(list, struct {
				at      time.Time
				visitor string
				entry   string
			}{evs[i].at, visitor, fmt.Sprintf("%s:%s:ch-%s", visitor, evs[i].at.Format("15:04:05.000"), evs[i].id)})
			n := i + 1
			if mode == ModeAny {
				for n < len(evs) && !evs[n].at.After(evs[i].at) {
					n++
				}
			}
			if n < len(evs) {
				next[evs[n].name]++
			}
		}
		slices.SortFunc(list, func(a, b struct {
			at      time.Time
			visitor string
			entry   string
		}) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return strings.Compare(a.visitor, b.visitor)
		})
		var out []string
		for _, l := range list {
			out = append(out, l.entry)
		}
		return strings.Join(out, " "), next
	}

	for _, tc := range []struct {
		mode    string
		exclude bool
	}{{ModeStrict, false}, {ModeAny, false}, {ModeAny, true}} {
		for k := 1; k <= 2; k++ {
			t.Run(fmt.Sprintf("%s/exclude=%v/%d", tc.mode, tc.exclude, k), func(t *testing.T) {
				o := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: steps, Window: window, Mode: tc.mode, Dropoff: k}
				if tc.exclude {
					o.Exclude = []string{"Other"}
				}
				got, err := Funnel(t.Context(), conn, o)
				if err != nil {
					t.Fatal(err)
				}
				var entries []string
				for _, v := range got.Dropoff.Visitors {
					entries = append(entries, fmt.Sprintf("%s:%s:%s", v.VisitorID, v.StepTime.UTC().Format("15:04:05.000"), v.Channel))
				}
				want, next := reference(tc.mode, tc.exclude, k)
				if len(entries) < 20 {
					t.Errorf("only %d dropped visitors: the data tests too little", len(entries))
				}
				if g := strings.Join(entries, " "); g != want {
					t.Errorf("dropped\n%s\nwant\n%s", g, want)
				}
				// The count is the funnel's: reached k, not k+1.
				if n := got.Steps[k-1].Count - got.Steps[k].Count; uint64(len(entries)) != n {
					t.Errorf("%d dropped, the funnel says %d", len(entries), n)
				}
				var wantNext []NextEvent
				for e, n := range next {
					wantNext = append(wantNext, NextEvent{e, n})
				}
				slices.SortFunc(wantNext, func(a, b NextEvent) int {
					if a.Visitors != b.Visitors {
						return cmp.Compare(b.Visitors, a.Visitors)
					}
					return strings.Compare(a.Event, b.Event)
				})
				checkNext(t, got.Dropoff.NextEvents, wantNext)
			})
		}
	}
}
