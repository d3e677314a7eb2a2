package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPaths(t *testing.T) {
	conn := migratedConn(t)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	page := func(id, visitor, path string, at time.Time) fev {
		return fev{id: id, visitor: visitor, typ: "page", path: path, at: at}
	}
	track := func(id, visitor, name string, at time.Time) fev {
		return fev{id: id, visitor: visitor, name: name, at: at}
	}
	insertSessions(t, conn,
		sess{id: "s1", visitor: "a", start: t0, duration: 5 * m, version: 1},
		sess{id: "s2", visitor: "a", start: t0.Add(2 * time.Hour), version: 1},
		sess{id: "s3", visitor: "b", start: t0, duration: 3 * m, version: 1},
		sess{id: "s4", visitor: "c", start: t0, duration: 2 * m, version: 1},
		sess{id: "s5", visitor: "d", start: t0, duration: 2 * m, version: 2, deleted: true}, // a tombstone
		sess{id: "s6", visitor: "e", start: from.Add(-time.Millisecond), duration: m, version: 1},
		sess{id: "s7", visitor: "f", start: from, version: 1},
		sess{id: "s8", visitor: "g", start: to, version: 1},
	)
	insertFull(t, conn,
		// s1: a reload of /home is one element; identify is no element; the
		// last event is at end_time (inside).
		page("a1", "a", "/home", t0),
		fev{id: "a2", visitor: "a", typ: "identify", user: "u", at: t0.Add(30 * time.Second)},
		page("a3", "a", "/home", t0.Add(m)),
		page("a4", "a", "/shoes", t0.Add(2*m)),
		track("a5", "a", "Product Added", t0.Add(3*m)),
		page("a6", "a", "/cart", t0.Add(4*m)),
		track("a7", "a", "Order Completed", t0.Add(5*m)),
		// s2: one page view.
		page("a8", "a", "/home", t0.Add(2*time.Hour)),
		// s3: b's events arrive out of order; /later is after the session's end.
		page("b4", "b", "/cart", t0.Add(3*m)),
		page("b9", "b", "/later", t0.Add(4*m)),
		track("b3", "b", "Product Added", t0.Add(2*m)),
		page("b1", "b", "/home", t0),
		page("b2", "b", "/shoes", t0.Add(m)),
		// s4
		page("c1", "c", "/shoes", t0),
		track("c2", "c", "Product Added", t0.Add(m)),
		page("c3", "c", "/home", t0.Add(2*m)),
		// s5 is deleted, s6 starts before from, s8 at to: none counts.
		page("d1", "d", "/home", t0),
		page("e1", "e", "/home", from.Add(-time.Millisecond)),
		page("g1", "g", "/home", to),
		// s7 starts exactly at from.
		page("f1", "f", "/home", from),
	)
	run := func(fromEvent string, depth int) []Path {
		t.Helper()
		r, err := Paths(t.Context(), conn, Options{From: from, To: to, FromEvent: fromEvent, Depth: depth})
		if err != nil {
			t.Fatal(err)
		}
		return r.Paths
	}
	runTo := func(toEvent string, depth int) []Path {
		t.Helper()
		r, err := Paths(t.Context(), conn, Options{From: from, To: to, ToEvent: toEvent, Depth: depth})
		if err != nil {
			t.Fatal(err)
		}
		if r.ToEvent != toEvent || r.FromEvent != "" {
			t.Errorf("report to %q from %q, want to %q", r.ToEvent, r.FromEvent, toEvent)
		}
		return r.Paths
	}
	check := func(what string, got []Path, want ...Path) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %+v, want %+v", what, got, want)
		}
		for i, w := range want {
			g := got[i]
			if strings.Join(g.Path, "|") != strings.Join(w.Path, "|") || g.Visitors != w.Visitors || g.Sessions != w.Sessions {
				t.Errorf("%s: path %d = %+v, want %+v", what, i, g, w)
			}
		}
	}
	home, shoes, cart := "page:/home", "page:/shoes", "page:/cart"
	// From session entry, 4 deep: s1 and s3 share a path; s2 and s7 are
	// /home alone (a shorter path sorts first among equal counts).
	check("entry", run("", 0),
		Path{[]string{home}, 2, 2},
		Path{[]string{home, shoes, "Product Added", cart}, 2, 2},
		Path{[]string{shoes, "Product Added", home}, 1, 1},
	)
	check("after Product Added", run("Product Added", 3),
		Path{[]string{"Product Added", cart}, 1, 1},
		Path{[]string{"Product Added", cart, "Order Completed"}, 1, 1},
		Path{[]string{"Product Added", home}, 1, 1},
	)
	check("after /shoes", run(shoes, 2), Path{[]string{shoes, "Product Added"}, 3, 3})
	check("depth 1", run("", 1), Path{[]string{home}, 3, 4}, Path{[]string{shoes}, 1, 1})
	check("no such event", run("Refunded", 4))

	// Leading to an event: the sequences are s1 [home shoes PA cart OC],
	// s2 [home], s3 [home shoes PA cart], s4 [shoes PA home], s7 [home].
	check("to Product Added", runTo("Product Added", 3),
		Path{[]string{home, shoes, "Product Added"}, 2, 2},
		Path{[]string{shoes, "Product Added"}, 1, 1},
	)
	// s1 has 5 elements: the last 2 end with its Order Completed.
	check("to Order Completed", runTo("Order Completed", 2), Path{[]string{cart, "Order Completed"}, 1, 1})
	// The first /home of a session ends its path: s1's and s3's is their
	// entry, so the path is 1 long; s4's comes after 2 elements.
	check("to /home", runTo(home, 4),
		Path{[]string{home}, 3, 4},
		Path{[]string{shoes, "Product Added", home}, 1, 1},
	)
	check("to Product Added, depth 1", runTo("Product Added", 1), Path{[]string{"Product Added"}, 3, 3})
	check("to no such event", runTo("Refunded", 4))
	if _, err := Paths(t.Context(), conn, Options{From: from, To: to, FromEvent: home, ToEvent: cart}); err == nil {
		t.Error("from and to event: no error")
	}

	r, err := Paths(t.Context(), conn, Options{From: date(2026, 10, 1), To: date(2026, 10, 2)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if want := `{"from_event":"","to_event":"","depth":4,"paths":[]}` + "\n"; b.String() != want {
		t.Errorf("empty json = %s, want %s", b.String(), want)
	}
	r.Paths = run(shoes, 2)
	b.Reset()
	if err := Write(&b, r, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if want := "path,visitors,sessions\npage:/shoes > Product Added,3,3\n"; b.String() != want {
		t.Errorf("csv = %q, want %q", b.String(), want)
	}
	for _, depth := range []int{-1, 51} {
		if _, err := Paths(t.Context(), conn, Options{From: from, To: to, Depth: depth}); err == nil {
			t.Errorf("depth %d: no error", depth)
		}
	}
}

// TestPathsToFirstOccurrence: with ToEvent a path ends at the session's
// first element equal to it, not a later one.
func TestPathsToFirstOccurrence(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	insertSessions(t, conn, sess{id: "s1", visitor: "x", start: t0, duration: 3 * time.Minute, version: 1})
	insertFull(t, conn,
		fev{id: "x1", visitor: "x", typ: "page", path: "/a", at: t0},
		fev{id: "x2", visitor: "x", name: "B", at: t0.Add(time.Minute)},
		fev{id: "x3", visitor: "x", typ: "page", path: "/a", at: t0.Add(2 * time.Minute)},
		fev{id: "x4", visitor: "x", name: "C", at: t0.Add(3 * time.Minute)},
	)
	for _, c := range []struct {
		to    string
		depth int
		want  string
	}{
		{"page:/a", 3, "page:/a"},
		{"B", 3, "page:/a > B"},
		{"C", 3, "B > page:/a > C"},
		{"C", 10, "page:/a > B > page:/a > C"},
	} {
		r, err := Paths(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 3), ToEvent: c.to, Depth: c.depth})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Paths) != 1 || strings.Join(r.Paths[0].Path, pathSeparator) != c.want || r.Paths[0].Sessions != 1 {
			t.Errorf("to %s, depth %d: %+v, want one session's %s", c.to, c.depth, r.Paths, c.want)
		}
	}
}
