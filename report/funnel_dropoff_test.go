package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFunnelDropoff(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := time.Second
	insertFull(t, conn,
		// a: Cart twice, a page view between; the user id comes later.
		fev{id: "a1", visitor: "a", name: "View", at: t0, channel: "Email"},
		fev{id: "a3", visitor: "a", typ: "page", path: "/shoes", user: "u-a", at: t0.Add(90 * s)},
		fev{id: "a4", visitor: "a", name: "Cart", at: t0.Add(100 * s), channel: "Direct"},
		// b buys 1 ms past the 1-day window: dropped at Cart; its next event is Buy.
		fev{id: "b1", visitor: "b", name: "View", at: t0},
		fev{id: "b2", visitor: "b", name: "Cart", at: t0.Add(10 * s), channel: "Paid Search"},
		fev{id: "b3", visitor: "b", name: "Buy", at: t0.Add(10*s + day + time.Millisecond)},
		// c buys exactly at the window's end: not dropped.
		fev{id: "c1", visitor: "c", name: "View", at: t0},
		fev{id: "c2", visitor: "c", name: "Cart", at: t0.Add(s)},
		fev{id: "c3", visitor: "c", name: "Buy", at: t0.Add(day)},
		// d does nothing after Cart: listed, in no next event.
		fev{id: "d1", visitor: "d", name: "View", at: t0},
		fev{id: "d2", visitor: "d", name: "Cart", at: t0.Add(time.Hour), user: "u-d"},
		// h: Cart, then an event at the same millisecond (not after it), then /shoes.
		fev{id: "h1", visitor: "h", name: "View", at: t0},
		fev{id: "h2", visitor: "h", name: "Cart", at: t0.Add(20 * s)},
		fev{id: "h3", visitor: "h", name: "Search", at: t0.Add(20 * s)},
		fev{id: "h4", visitor: "h", typ: "page", path: "/shoes", at: t0.Add(30 * s)},
		// e and f stop at View: e then searches, f views again.
		fev{id: "e1", visitor: "e", name: "View", at: t0.Add(5 * s), channel: "Paid Search"},
		fev{id: "e2", visitor: "e", name: "Search", at: t0.Add(6 * s)},
		fev{id: "f1", visitor: "f", name: "View", at: t0.Add(s)},
		fev{id: "f2", visitor: "f", name: "View", at: t0.Add(2 * s)},
	)
	// a's first Cart arrives late, in its own insert.
	insertFull(t, conn, fev{id: "a2", visitor: "a", name: "Cart", at: t0.Add(60 * s), channel: "Social"})

	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"View", "Cart", "Buy"}, Window: day, Dropoff: 2}
	got, err := Funnel(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	d := got.Dropoff
	if d == nil || d.Step != 2 || d.StepName != "Cart" {
		t.Fatalf("dropoff = %+v", d)
	}
	// By the time of step 2: b (10 s), h (20 s), a (60 s: its first Cart), d (1 h).
	want := []DroppedVisitor{
		{VisitorID: "b", UserID: "", StepTime: t0.Add(10 * s), Channel: "Paid Search"},
		{VisitorID: "h", UserID: "", StepTime: t0.Add(20 * s), Channel: ""},
		{VisitorID: "a", UserID: "u-a", StepTime: t0.Add(60 * s), Channel: "Social"},
		{VisitorID: "d", UserID: "u-d", StepTime: t0.Add(time.Hour), Channel: ""},
	}
	if len(d.Visitors) != len(want) {
		t.Fatalf("visitors = %+v, want %+v", d.Visitors, want)
	}
	for i, w := range want {
		if g := d.Visitors[i]; g.VisitorID != w.VisitorID || g.UserID != w.UserID || !g.StepTime.Equal(w.StepTime) || g.Channel != w.Channel {
			t.Errorf("visitor %d = %+v, want %+v", i, g, w)
		}
	}
	// Next: a and h a page view of /shoes, b Buy; d nothing.
	checkNext(t, d.NextEvents, []NextEvent{{"page:/shoes", 2}, {"Buy", 1}})

	var b bytes.Buffer
	if err := Write(&b, got, FormatCSV); err != nil {
		t.Fatal(err)
	}
	wantCSV := "visitor_id,user_id,step_time,channel\n" +
		"b,,2026-11-02T10:00:10.000Z,Paid Search\nh,,2026-11-02T10:00:20.000Z,\n" +
		"a,u-a,2026-11-02T10:01:00.000Z,Social\nd,u-d,2026-11-02T11:00:00.000Z,\n"
	if b.String() != wantCSV {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), wantCSV)
	}

	// Step 1: e then searched, f viewed again.
	opts.Dropoff = 1
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	if v := got.Dropoff.Visitors; len(v) != 2 || v[0].VisitorID != "f" || !v[0].StepTime.Equal(t0.Add(s)) ||
		v[1].VisitorID != "e" || v[1].Channel != "Paid Search" {
		t.Errorf("dropoff 1 visitors = %+v", v)
	}
	checkNext(t, got.Dropoff.NextEvents, []NextEvent{{"Search", 1}, {"View", 1}})

	// An empty range: empty lists, in JSON too.
	opts.From, opts.To = date(2026, 10, 1), date(2026, 10, 2)
	if got, err = Funnel(t.Context(), conn, opts); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Write(&b, got, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if want := `"dropoff":{"step":1,"step_name":"View","visitors":[],"next_events":[]}}`; !bytes.Contains(b.Bytes(), []byte(want)) {
		t.Errorf("json %s, want it to end with %s", b.String(), want)
	}

	for _, bad := range []Options{
		{Dropoff: 3},  // the last step has no next step
		{Dropoff: -1}, // no step 0
		{Dropoff: 1, Trend: TrendDay},
		{Dropoff: 1, Mode: "strictly"},
	} {
		bad.From, bad.To, bad.Steps = opts.From, opts.To, opts.Steps
		if _, err := Funnel(t.Context(), conn, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestFunnelDropoffBy: the drop-off list by person (an identity merge
// across two devices) and by session.
func TestFunnelDropoffBy(t *testing.T) {
	conn := migratedConn(t)
	exec(t, conn, `INSERT INTO events (message_id, event_time, event_name, visitor_id, user_id, session_id, traffic_channel, type) VALUES
		('1', '2026-11-02 10:00:00', 'View', 'phone', '', 's-p', 'Social', 'track'),
		('2', '2026-11-02 11:00:00', 'Cart', 'laptop', '', 's-l', 'Email', 'track'),
		('3', '2026-11-02 12:00:00', 'Wishlist', 'laptop', '', 's-l', 'Email', 'track'),
		('4', '2026-11-02 10:00:00', 'View', 'solo', '', 's-a', 'Direct', 'track'),
		('5', '2026-11-02 10:05:00', 'Cart', 'solo', '', 's-a', 'Direct', 'track'),
		('6', '2026-11-02 13:00:00', 'Buy', 'solo', '', 's-b', 'Direct', 'track'),
		('7', '2026-11-02 10:00:00', 'View', 'p2', '', 's-c', 'Direct', 'track'),
		('8', '2026-11-02 10:01:00', 'Cart', 'p2', '', 's-c', 'Direct', 'track'),
		('9', '2026-11-02 10:02:00', 'Buy', 'p2', '', 's-c', 'Direct', 'track')`)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('phone', 'user-1', '2026-11-02 09:00:00', '2026-11-02 09:00:00', 'identify', 'i1'),
		('laptop', 'user-1', '2026-11-01 08:00:00', '2026-11-01 08:00:00', 'identify', 'i3'),
		('p2', 'user-2', '2026-11-02 09:00:00', '2026-11-02 09:00:00', 'identify', 'i2')`)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"View", "Cart", "Buy"}, Dropoff: 2}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 2, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		by   string
		want []DroppedVisitor
		next []NextEvent
		csv  string
		json string
	}{
		// user-1 viewed on the phone and added to the cart on the laptop;
		// solo and user-2 bought. No event in the range carries the user
		// id: it is the person's. Next: the laptop's Wishlist.
		{ByPerson, []DroppedVisitor{{PersonID: "user-1", VisitorID: "laptop", VisitorIDs: []string{"laptop", "phone"}, UserID: "user-1", StepTime: at(11, 0), Channel: "Email"}},
			[]NextEvent{{"Wishlist", 1}},
			"person_id,user_id,visitor_ids,visitor_id,step_time,channel\nuser-1,user-1,laptop phone,laptop,2026-11-02T11:00:00.000Z,Email\n",
			`"visitors":[{"person_id":"user-1","visitor_id":"laptop","visitor_ids":["laptop","phone"],"user_id":"user-1","step_time":"2026-11-02T11:00:00Z","channel":"Email"}]`},
		// No visitor: the phone did View only, the laptop no View.
		{ByVisitor, nil, nil, "visitor_id,user_id,step_time,channel\n", `"visitors":[]`},
		// Session s-a: View, Cart; its Buy is in session s-b. Nothing
		// after the Cart in s-a.
		{BySession, []DroppedVisitor{{SessionID: "s-a", VisitorID: "solo", StepTime: at(10, 5), Channel: "Direct"}},
			nil,
			"session_id,visitor_id,user_id,step_time,channel\ns-a,solo,,2026-11-02T10:05:00.000Z,Direct\n",
			`"visitors":[{"session_id":"s-a","visitor_id":"solo","user_id":"","step_time":"2026-11-02T10:05:00Z","channel":"Direct"}]`},
	} {
		t.Run(tc.by, func(t *testing.T) {
			got, err := FunnelBy(t.Context(), conn, opts, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			d := got.Dropoff
			if len(d.Visitors) != len(tc.want) {
				t.Fatalf("dropped %+v, want %+v", d.Visitors, tc.want)
			}
			for i, w := range tc.want {
				g := d.Visitors[i]
				if g.PersonID != w.PersonID || g.SessionID != w.SessionID || g.VisitorID != w.VisitorID ||
					strings.Join(g.VisitorIDs, " ") != strings.Join(w.VisitorIDs, " ") || g.UserID != w.UserID ||
					!g.StepTime.Equal(w.StepTime) || g.Channel != w.Channel {
					t.Errorf("dropped %d = %+v, want %+v", i, g, w)
				}
			}
			checkNext(t, d.NextEvents, tc.next)
			var b bytes.Buffer
			if err := Write(&b, got, FormatCSV); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.csv {
				t.Errorf("csv %q, want %q", b.String(), tc.csv)
			}
			b.Reset()
			if err := Write(&b, got, FormatJSON); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.json) {
				t.Errorf("json %s, want it to contain %s", b.String(), tc.json)
			}
			if tc.by == ByPerson {
				b.Reset()
				if err := Write(&b, got, FormatTable); err != nil {
					t.Fatal(err)
				}
				if want := "user-1  laptop   user-1  2026-11-02 11:00:00  Email    laptop phone"; !strings.Contains(b.String(), want) {
					t.Errorf("table:\n%s\nwant a row %q", b.String(), want)
				}
			}
		})
	}
}

func checkNext(t *testing.T, got, want []NextEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("next events = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("next event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
