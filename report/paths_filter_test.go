package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// pathLines prints paths as "label > label visitors sessions" lines.
func pathLines(paths []Path) string {
	var out []string
	for _, p := range paths {
		out = append(out, fmt.Sprintf("%s %d %d", strings.Join(p.Path, " > "), p.Visitors, p.Sessions))
	}
	return strings.Join(out, "\n")
}

// TestPathsFilter checks the report filter of paths: a session passes when
// its first event does (the session's channel and touchpoint, its first
// event's properties), as in time on site, and then keeps its whole path;
// its later events (an order from another channel, the from_event event)
// neither admit nor drop it.
func TestPathsFilter(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	insertSessions(t, conn,
		sess{id: "s1", visitor: "a", start: t0, duration: 2 * m, channel: "Email", touchpoint: "email", version: 1},
		sess{id: "s2", visitor: "b", start: t0, duration: m, channel: "Email", touchpoint: "web", version: 1},
		sess{id: "s3", visitor: "c", start: t0, duration: m, channel: "Organic Search", touchpoint: "web", version: 1},
		sess{id: "s4", visitor: "a", start: t0.Add(3 * time.Hour), duration: m, channel: "Organic Search", touchpoint: "app", version: 1},
		sess{id: "s5", visitor: "d", start: t0, duration: 2 * m, channel: "Email", touchpoint: "email", version: 1},
		// Out of the range.
		sess{id: "s6", visitor: "e", start: date(2026, 10, 31), duration: m, channel: "Email", touchpoint: "email", version: 1},
	)
	insertFull(t, conn,
		// s1: pro on its first event; its Product Added is free; its order
		// came through Paid Search on the web.
		fev{id: "a1", visitor: "a", session: "s1", typ: "page", path: "/home", at: t0, channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`},
		fev{id: "a2", visitor: "a", session: "s1", name: "Product Added", at: t0.Add(m), channel: "Email", touchpoint: "email", props: `{"plan":"free"}`},
		fev{id: "a3", visitor: "a", session: "s1", name: "Order Completed", at: t0.Add(2 * m), channel: "Paid Search", touchpoint: "web", props: `{"plan":"pro"}`},
		// s2: free first, pro only later.
		fev{id: "b1", visitor: "b", session: "s2", typ: "page", path: "/home", at: t0, channel: "Email", touchpoint: "web", props: `{"plan":"free"}`},
		fev{id: "b2", visitor: "b", session: "s2", typ: "page", path: "/shoes", at: t0.Add(m), channel: "Email", touchpoint: "web", props: `{"plan":"pro","n":10}`},
		fev{id: "c1", visitor: "c", session: "s3", typ: "page", path: "/shoes", at: t0, channel: "Organic Search", touchpoint: "web", props: `{"plan":"pro","n":10}`},
		fev{id: "c2", visitor: "c", session: "s3", name: "Product Added", at: t0.Add(m), channel: "Organic Search", touchpoint: "web"},
		fev{id: "a4", visitor: "a", session: "s4", typ: "page", path: "/home", at: t0.Add(3 * time.Hour), channel: "Organic Search", touchpoint: "app", props: `{"plan":"pro"}`},
		fev{id: "a5", visitor: "a", session: "s4", name: "Product Added", at: t0.Add(3*time.Hour + m), channel: "Organic Search", touchpoint: "app"},
		// s5: no plan anywhere.
		fev{id: "d1", visitor: "d", session: "s5", typ: "page", path: "/home", at: t0, channel: "Email", touchpoint: "email"},
		fev{id: "d2", visitor: "d", session: "s5", name: "Product Added", at: t0.Add(m), channel: "Email", touchpoint: "email"},
		fev{id: "d3", visitor: "d", session: "s5", name: "Order Completed", at: t0.Add(2 * m), channel: "Email", touchpoint: "email"},
		fev{id: "e1", visitor: "e", session: "s6", typ: "page", path: "/home", at: date(2026, 10, 31), channel: "Email", touchpoint: "email", props: `{"plan":"pro"}`},
	)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	home, shoes, added, order := "page:/home", "page:/shoes", "Product Added", "Order Completed"
	line := func(visitors, sessions int, labels ...string) string {
		return fmt.Sprintf("%s %d %d", strings.Join(labels, " > "), visitors, sessions)
	}
	lines := func(l ...string) string { return strings.Join(l, "\n") }
	// The unfiltered paths from entry: s1 and s5, then s4, s2, s3 (among
	// equal counts, by path; "Product Added" sorts before "page:").
	entryAll := lines(
		line(2, 2, home, added, order),
		line(1, 1, home, added),
		line(1, 1, home, shoes),
		line(1, 1, shoes, added),
	)
	cases := []struct {
		name      string
		filter    Filter
		fromEvent string
		want      string
		// sessions is how many sessions pass, as time on site counts them
		// with the same filter.
		sessions uint64
	}{
		{name: "none", want: entryAll, sessions: 5},
		{
			// s1 s2 s5; s1 with its order from Paid Search.
			name: "channel Email", filter: Filter{Channels: []string{"Email"}},
			want:     lines(line(2, 2, home, added, order), line(1, 1, home, shoes)),
			sessions: 3,
		},
		{
			// Only s1's order came through Paid Search: no session.
			name: "channel Paid Search", filter: Filter{Channels: []string{"Paid Search"}},
			want: "",
		},
		{
			name: "channels Organic Search or Paid Search", filter: Filter{Channels: []string{"Paid Search", "Organic Search"}},
			want:     lines(line(1, 1, home, added), line(1, 1, shoes, added)),
			sessions: 2,
		},
		{
			// s2 s3, not s1 (whose order was on the web).
			name: "touchpoint web", filter: Filter{Touchpoints: []string{"web"}},
			want:     lines(line(1, 1, home, shoes), line(1, 1, shoes, added)),
			sessions: 2,
		},
		{
			name: "touchpoint app", filter: Filter{Touchpoints: []string{"app"}},
			want:     line(1, 1, home, added),
			sessions: 1,
		},
		{
			// s1 s5.
			name: "channel Email and touchpoint email", filter: Filter{Channels: []string{"Email"}, Touchpoints: []string{"email"}},
			want:     line(2, 2, home, added, order),
			sessions: 2,
		},
		{
			// First events with plan pro: s1 s3 s4, not s2 (pro later).
			name: "where plan=pro", filter: Filter{Where: []Property{{"plan", "pro"}}},
			want:     lines(line(1, 1, home, added), line(1, 1, home, added, order), line(1, 1, shoes, added)),
			sessions: 3,
		},
		{
			name: "where plan=free", filter: Filter{Where: []Property{{"plan", "free"}}},
			want:     line(1, 1, home, shoes),
			sessions: 1,
		},
		{
			// A number by its JSON text: s3 (s2's n is on a later event).
			name: "where n=10", filter: Filter{Where: []Property{{"n", "10"}}},
			want:     line(1, 1, shoes, added),
			sessions: 1,
		},
		{
			// A missing property is '': s5.
			name: "where plan empty", filter: Filter{Where: []Property{{"plan", ""}}},
			want:     line(1, 1, home, added, order),
			sessions: 1,
		},
		{
			// All conditions hold: s4.
			name:     "channel Organic Search, touchpoint app, where plan=pro",
			filter:   Filter{Channels: []string{"Organic Search"}, Touchpoints: []string{"app"}, Where: []Property{{"plan", "pro"}}},
			want:     line(1, 1, home, added),
			sessions: 1,
		},
		{
			name: "where plan=pro and n=10", filter: Filter{Where: []Property{{"plan", "pro"}, {"n", "10"}}},
			want:     line(1, 1, shoes, added),
			sessions: 1,
		},
		{
			name: "from Product Added", fromEvent: added,
			want: lines(line(2, 2, added), line(2, 2, added, order)),
		},
		{
			// The session decides, not the Product Added event: s1 and s5.
			name: "from Product Added, channel Email", fromEvent: added, filter: Filter{Channels: []string{"Email"}},
			want: line(2, 2, added, order),
		},
		{
			// s1 s3 s4 pass by their first events, though s1's Product
			// Added is free.
			name: "from Product Added, where plan=pro", fromEvent: added, filter: Filter{Where: []Property{{"plan", "pro"}}},
			want: lines(line(2, 2, added), line(1, 1, added, order)),
		},
		{
			// s2 passes but has no Product Added; s1's free Product Added
			// decides nothing.
			name: "from Product Added, where plan=free", fromEvent: added, filter: Filter{Where: []Property{{"plan", "free"}}},
			want: "",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Paths(t.Context(), conn, Options{From: from, To: to, FromEvent: c.fromEvent, Filter: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			if got := pathLines(r.Paths); got != c.want {
				t.Errorf("paths =\n%s\nwant\n%s", got, c.want)
			}
			if c.fromEvent != "" {
				return
			}
			// From entry every session that passes has a path: the same
			// sessions as time on site with the same filter.
			var sessions uint64
			for _, p := range r.Paths {
				sessions += p.Sessions
			}
			tos, err := TimeOnSite(t.Context(), conn, Options{From: from, To: to, Filter: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			if sessions != c.sessions || tos.Sessions != c.sessions {
				t.Errorf("paths of %d sessions, time on site %d; want %d", sessions, tos.Sessions, c.sessions)
			}
		})
	}
}
