package report

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFunnelByPerson(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	insertEvents(t, conn,
		// u1 views and adds to cart on the phone, then checks out and buys
		// on the laptop.
		ev{id: "p1", visitor: "a-phone", name: "View", at: t0},
		ev{id: "p2", visitor: "a-phone", name: "Cart", at: t0.Add(60 * time.Second)},
		ev{id: "l1", visitor: "a-laptop", name: "Checkout", at: t0.Add(time.Hour)},
		ev{id: "l2", visitor: "a-laptop", name: "Buy", at: t0.Add(2 * time.Hour)},
		// bob views and adds to cart on the web, checks out from an email
		// click that carries only his user id (visitor_id = user id, no
		// link needed), then buys on the web.
		ev{id: "b1", visitor: "b-web", name: "View", at: t0},
		ev{id: "b2", visitor: "b-web", name: "Cart", at: t0.Add(120 * time.Second)},
		ev{id: "b3", visitor: "bob", name: "Checkout", at: t0.Add(3 * time.Hour)},
		ev{id: "b4", visitor: "b-web", name: "Buy", at: t0.Add(4 * time.Hour)},
		// x is linked to nobody: its own person.
		ev{id: "x1", visitor: "x", name: "View", at: t0},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('a-phone', 'u1', '2026-11-02 09:00:00', '2026-11-02 09:00:00', 'identify', 'i1'),
		('a-laptop', 'u1', '2026-11-02 11:00:00', '2026-11-02 11:00:00', 'event', 'i2'),
		('b-web', 'carol', '2026-10-01 00:00:00', '2026-10-01 00:00:00', 'identify', 'i3'),
		('b-web', 'bob', '2026-11-02 10:00:00', '2026-11-02 10:00:00', 'alias', 'i4')`)
	opts := Options{From: from, To: to, Steps: []string{"View", "Cart", "Checkout", "Buy"}}

	// By visitor (the default): no device does steps 1-3 in order.
	for _, by := range []string{"", ByVisitor} {
		got, err := FunnelBy(t.Context(), conn, opts, by)
		if err != nil {
			t.Fatal(err)
		}
		checkFunnel(t, got, []FunnelStep{
			{Step: "View", Count: 3, ConversionFromStart: 1, ConversionFromPrevious: 1},
			{Step: "Cart", Count: 2, ConversionFromStart: 2.0 / 3, ConversionFromPrevious: 2.0 / 3, MedianSecondsToConvert: 120},
			{Step: "Checkout", Count: 0},
			{Step: "Buy", Count: 0},
		})
	}
	if got, err := Funnel(t.Context(), conn, opts); err != nil || got.Steps[1].Count != 2 || got.Steps[3].Count != 0 {
		t.Errorf("Funnel = %+v, %v; want the visitor counts", got, err)
	}

	// By person: u1 and bob each reach Buy; x stops at View.
	// To Cart: 60, 120 s; to Checkout: 3600, 10800; to Buy: 7200, 14400
	// (quantileExact(0.5) of two values is the upper one).
	got, err := FunnelBy(t.Context(), conn, opts, ByPerson)
	if err != nil {
		t.Fatal(err)
	}
	checkFunnel(t, got, []FunnelStep{
		{Step: "View", Count: 3, ConversionFromStart: 1, ConversionFromPrevious: 1},
		{Step: "Cart", Count: 2, ConversionFromStart: 2.0 / 3, ConversionFromPrevious: 2.0 / 3, MedianSecondsToConvert: 120},
		{Step: "Checkout", Count: 2, ConversionFromStart: 2.0 / 3, ConversionFromPrevious: 1, MedianSecondsToConvert: 10800},
		{Step: "Buy", Count: 2, ConversionFromStart: 2.0 / 3, ConversionFromPrevious: 1, MedianSecondsToConvert: 14400},
	})
	var out bytes.Buffer
	if err := Write(&out, got, FormatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "PERSONS") || strings.Contains(out.String(), "VISITORS") {
		t.Errorf("table header does not say PERSONS:\n%s", out.String())
	}
}

// The example of the issue: two visitors linked to one user, steps 1-2 on
// one device and 3-4 on the other.
func TestFunnelByPersonAcrossDevices(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	insertEvents(t, conn,
		ev{id: "1", visitor: "phone", name: "A", at: t0},
		ev{id: "2", visitor: "phone", name: "B", at: t0.Add(time.Minute)},
		ev{id: "3", visitor: "laptop", name: "C", at: t0.Add(time.Hour)},
		ev{id: "4", visitor: "laptop", name: "D", at: t0.Add(2 * time.Hour)},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('phone', 'user-1', '2026-11-02 10:00:00', '2026-11-02 10:00:00', 'identify', 'i1'),
		('laptop', 'user-1', '2026-11-02 11:00:00', '2026-11-02 11:00:00', 'event', '3')`)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"A", "B", "C", "D"}}
	counts := func(by string) []uint64 {
		t.Helper()
		r, err := FunnelBy(t.Context(), conn, opts, by)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, s := range r.Steps {
			out = append(out, s.Count)
		}
		return out
	}
	if got := counts(ByPerson); !slices.Equal(got, []uint64{1, 1, 1, 1}) {
		t.Errorf("by person: %v, want [1 1 1 1]", got)
	}
	if got := counts(ByVisitor); !slices.Equal(got, []uint64{1, 1, 0, 0}) {
		t.Errorf("by visitor: %v, want [1 1 0 0]", got)
	}
}

func TestFunnelByOption(t *testing.T) {
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 2), Steps: []string{"A"}}
	for _, tc := range []struct {
		by     string
		notYet bool
	}{
		{"sessions", false},
		{"persons", false},
		{"Person", false},
	} {
		// Checked before any query: no connection needed.
		_, err := FunnelBy(t.Context(), nil, opts, tc.by)
		if err == nil {
			t.Errorf("by %q: no error", tc.by)
			continue
		}
		if errors.Is(err, ErrNotSupported) != tc.notYet {
			t.Errorf("by %q: err = %v, ErrNotSupported %v", tc.by, err, tc.notYet)
		}
	}
}

// Counting visitors must not pay for the join to persons.
func TestFunnelSQLBy(t *testing.T) {
	visitors, err := funnelSQLBy(3, ByVisitor)
	if err != nil {
		t.Fatal(err)
	}
	persons, err := funnelSQLBy(3, ByPerson)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(visitors, "FROM persons") || !strings.Contains(visitors, "FROM events FINAL\n") {
		t.Errorf("by visitor reads more than events:\n%s", visitors)
	}
	if !strings.Contains(persons, "LEFT JOIN (SELECT visitor_id, person_id FROM persons)") {
		t.Errorf("by person does not join persons:\n%s", persons)
	}
	sessions, err := funnelSQLBy(3, BySession)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sessions, "session_id AS unit") || !strings.Contains(sessions, "AND session_id != ''") || strings.Contains(sessions, "FROM persons") {
		t.Errorf("by session does not count sessions with an id:\n%s", sessions)
	}
	if strings.Contains(visitors, "AND session_id") {
		t.Errorf("by visitor reads session ids:\n%s", visitors)
	}
	if again, _ := funnelSQLBy(3, ByVisitor); again != visitors {
		t.Error("rendering by person changed the visitor rendering")
	}
}

// TestFunnelBySession: a session is a unit; a funnel done across two
// sessions of one visitor completes for the visitor and for no session.
func TestFunnelBySession(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	insertEvents(t, conn,
		// v: A, B in session v1, C two hours later in session v2.
		ev{id: "1", visitor: "v", session: "v1", name: "A", at: t0},
		ev{id: "2", visitor: "v", session: "v1", name: "B", at: t0.Add(m)},
		ev{id: "3", visitor: "v", session: "v2", name: "C", at: t0.Add(120 * m)},
		// w: A, B without a session id (not sessionized): no session counts.
		ev{id: "4", visitor: "w", name: "A", at: t0},
		ev{id: "5", visitor: "w", name: "B", at: t0.Add(m)},
		// x: all three in one session.
		ev{id: "6", visitor: "x", session: "x1", name: "A", at: t0},
		ev{id: "7", visitor: "x", session: "x1", name: "B", at: t0.Add(m)},
		ev{id: "8", visitor: "x", session: "x1", name: "C", at: t0.Add(2 * m)},
		// y: A, B in each of two sessions: two sessions, one visitor.
		ev{id: "9", visitor: "y", session: "y1", name: "A", at: t0},
		ev{id: "10", visitor: "y", session: "y1", name: "B", at: t0.Add(m)},
		ev{id: "11", visitor: "y", session: "y2", name: "A", at: t0.Add(60 * m)},
		ev{id: "12", visitor: "y", session: "y2", name: "B", at: t0.Add(61 * m)},
	)
	// Visitors: v, w, x, y start; all reach B; v and x reach C. Sessions:
	// v1, x1, y1, y2 start and reach B; x1 alone reaches C. The same in
	// every mode: the steps are back to back, in order.
	for _, mode := range []string{ModeOrdered, ModeStrict, ModeAny} {
		for _, tc := range []struct {
			by   string
			want []uint64
		}{
			{BySession, []uint64{4, 4, 1}},
			{ByVisitor, []uint64{4, 4, 2}},
		} {
			t.Run(mode+"/"+tc.by, func(t *testing.T) {
				r, err := FunnelBy(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 15),
					Steps: []string{"A", "B", "C"}, Mode: mode}, tc.by)
				if err != nil {
					t.Fatal(err)
				}
				var got []uint64
				for _, s := range r.Steps {
					got = append(got, s.Count)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("counts %v, want %v", got, tc.want)
				}
				// B: 60 s in every unit; C: 120 s (x alone; v by
				// visitor: 7200 s, median of [120, 7200] the upper).
				wantC := 120.0
				if tc.by == ByVisitor {
					wantC = 7200
				}
				if !near(r.Steps[1].MedianSecondsToConvert, 60) || !near(r.Steps[2].MedianSecondsToConvert, wantC) {
					t.Errorf("medians %v, %v; want 60, %v", r.Steps[1].MedianSecondsToConvert, r.Steps[2].MedianSecondsToConvert, wantC)
				}
			})
		}
	}
	// A trend by session: the four sessions started on 2026-11-02.
	t.Run("trend", func(t *testing.T) {
		r, err := FunnelBy(t.Context(), conn, Options{From: date(2026, 11, 2), To: date(2026, 11, 4),
			Steps: []string{"A", "B", "C"}, Trend: TrendDay}, BySession)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range r.Trend {
			got = append(got, fmt.Sprintf("%s:%d/%d/%d", p.Period, p.Steps[0].Count, p.Steps[1].Count, p.Steps[2].Count))
		}
		if want := "2026-11-02:4/4/1 2026-11-03:0/0/0"; strings.Join(got, " ") != want {
			t.Errorf("trend %q, want %q", strings.Join(got, " "), want)
		}
	})
}
