package report

import (
	"bytes"
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
		{"b", "", t0.Add(10 * s), "Paid Search"},
		{"h", "", t0.Add(20 * s), ""},
		{"a", "u-a", t0.Add(60 * s), "Social"},
		{"d", "u-d", t0.Add(time.Hour), ""},
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
		{Dropoff: 1, Mode: ModeStrict},
	} {
		bad.From, bad.To, bad.Steps = opts.From, opts.To, opts.Steps
		if _, err := Funnel(t.Context(), conn, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := FunnelBy(t.Context(), conn, Options{From: opts.From, To: opts.To, Steps: opts.Steps, Dropoff: 1}, ByPerson); err == nil {
		t.Error("dropoff by person: no error")
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
