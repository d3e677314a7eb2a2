package report

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// attributionFixtures are five journeys (every conversion in November):
//
//	a: 3 touches (Organic Search -14d, Email -7d, Direct 0d), 100
//	b: direct only (Direct -7d, unknown channel '' 0d), 50
//	c: Organic Social -31d (outside the 30-day lookback), Paid Search -1d,
//	   and a tombstoned Display session -12h; 30
//	d: two conversions: Referral (Nov 2), order Nov 3 (20); Email (Nov 4
//	   00:00), order Nov 4 12:00 (40)
//	e: an order without any session, 5
//
// plus an order in December (outside the range).
func attributionFixtures(t *testing.T, conn driver.Conn) {
	t.Helper()
	day := func(d int) time.Time { return date(2026, 11, d) }
	insertTouches(t, conn,
		touch{id: "a1", visitor: "a", start: day(1), channel: "Organic Search", source: "google", medium: "organic", touchpoint: "web"},
		touch{id: "a2", visitor: "a", start: day(8), channel: "Email", source: "newsletter", medium: "email", campaign: "nov", touchpoint: "email"},
		touch{id: "a3", visitor: "a", start: day(15), channel: "Direct", source: "(direct)", medium: "(none)", touchpoint: "web"},
		touch{id: "b1", visitor: "b", start: day(10), channel: "Direct", source: "(direct)", medium: "(none)", touchpoint: "app"},
		touch{id: "b2", visitor: "b", start: day(17), touchpoint: "app"},
		touch{id: "c1", visitor: "c", start: date(2026, 10, 20), channel: "Organic Social", source: "facebook", touchpoint: "social"},
		touch{id: "c2", visitor: "c", start: day(19), channel: "Paid Search", source: "google", medium: "cpc", campaign: "brand", touchpoint: "web"},
		touch{id: "c3", visitor: "c", start: day(19).Add(12 * time.Hour), channel: "Display", source: "dsp", touchpoint: "web"},
		touch{id: "d1", visitor: "d", start: day(2), channel: "Referral", source: "blog.example", medium: "referral", touchpoint: "web"},
		touch{id: "d2", visitor: "d", start: day(4), channel: "Email", source: "newsletter", medium: "email", campaign: "nov", touchpoint: "email"},
	)
	insertTouches(t, conn, touch{id: "c3", visitor: "c", start: day(19).Add(12 * time.Hour), channel: "Display", deleted: true})
	insertRich(t, conn,
		rich{id: "oa", visitor: "a", at: day(15), revenue: 100},
		rich{id: "ob", visitor: "b", at: day(17), revenue: 50},
		rich{id: "oc", visitor: "c", at: day(20), revenue: 30},
		rich{id: "od1", visitor: "d", at: day(3), revenue: 20},
		rich{id: "od2", visitor: "d", at: day(4).Add(12 * time.Hour), revenue: 40},
		rich{id: "oe", visitor: "e", at: day(5), revenue: 5},
		rich{id: "oa2", visitor: "a", at: date(2026, 12, 2), revenue: 1000},
		rich{id: "pa", visitor: "a", name: "Product Added", at: day(14)},
	)
}

// credits is a row's credits in the order of Models: conversions, revenue.
type credits [5][2]float64

func TestAttributionGolden(t *testing.T) {
	conn := migratedConn(t)
	attributionFixtures(t, conn)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 12, 1)}
	got, err := Attribution(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.Conversions != 6 || !near(got.Revenue, 245) || got.AttributedConversions != 5 || !near(got.AttributedRevenue, 240) {
		t.Errorf("totals = %d %v %d %v, want 6 245 5 240", got.Conversions, got.Revenue, got.AttributedConversions, got.AttributedRevenue)
	}
	if got.Dimension != DimensionChannel || got.LookbackSeconds != 30*86400 || len(got.Models) != 5 {
		t.Errorf("header = %s %d %v", got.Dimension, got.LookbackSeconds, got.Models)
	}
	// r: Referral's time-decay share of d's second order, touches 2.5 and
	// 0.5 days before it: 2^(-2.5/7) / (2^(-2.5/7) + 2^(-0.5/7)).
	r := 1 / (1 + math.Pow(2, 2.0/7))
	// Order: first touch, last non-direct, linear, position, time decay.
	want := map[string]credits{
		// b's session of unknown channel: last non-direct falls back to it.
		"(not set)":      {{0, 0}, {1, 50}, {0.5, 25}, {0.5, 25}, {2.0 / 3, 100.0 / 3}},
		"Direct":         {{1, 50}, {0, 0}, {1.0/3 + 0.5, 100.0/3 + 25}, {0.9, 65}, {4.0/7 + 1.0/3, 400.0/7 + 50.0/3}},
		"Email":          {{0, 0}, {2, 140}, {1.0/3 + 0.5, 100.0/3 + 20}, {0.7, 40}, {2.0/7 + 1 - r, 200.0/7 + 40*(1-r)}},
		"Organic Search": {{1, 100}, {0, 0}, {1.0 / 3, 100.0 / 3}, {0.4, 40}, {1.0 / 7, 100.0 / 7}},
		"Paid Search":    {{1, 30}, {1, 30}, {1, 30}, {1, 30}, {1, 30}},
		"Referral":       {{2, 60}, {1, 20}, {1.5, 40}, {1.5, 40}, {1 + r, 20 + 40*r}},
	}
	checkCredits(t, got, want)

	// By source, first touch and time decay only for the spot checks.
	opts.Dimension = DimensionSource
	got, err = Attribution(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, row := range got.Rows {
		sources = append(sources, row.Value)
	}
	// a3 and b1 are both (direct); b2 has no source.
	if s := strings.Join(sources, ","); s != "(direct),(not set),blog.example,google,newsletter" {
		t.Errorf("sources = %s", s)
	}
	for _, row := range got.Rows {
		if row.Value == "google" && (!near(row.FirstTouch.Conversions, 2) || !near(row.FirstTouch.Revenue, 130)) {
			t.Errorf("google first touch = %+v, want 2 conversions, 130", *row.FirstTouch)
		}
		if row.Value == "newsletter" && !near(row.LastNonDirect.Conversions, 2) {
			t.Errorf("newsletter last non-direct = %+v, want 2", *row.LastNonDirect)
		}
	}

	// A 10-day lookback drops a's Organic Search touch (14 days before):
	// a's first touch is now Email.
	opts = Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Lookback: 10 * 24 * time.Hour, Model: "first-touch"}
	got, err = Attribution(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Models) != 1 || got.Models[0] != ModelFirstTouch || got.AttributedConversions != 5 {
		t.Fatalf("10d first touch: models %v, %d attributed", got.Models, got.AttributedConversions)
	}
	firsts := map[string]float64{}
	for _, row := range got.Rows {
		if row.Linear != nil {
			t.Errorf("%s: linear credit in a first-touch report", row.Value)
		}
		if row.FirstTouch.Conversions != 0 {
			firsts[row.Value] = row.FirstTouch.Conversions
		}
	}
	if fmt.Sprint(firsts) != "map[Direct:1 Email:1 Paid Search:1 Referral:2]" {
		t.Errorf("10d first touch = %v", firsts)
	}

	// --site keeps the conversions of that source; every session of the
	// visitor is still a touch.
	insertRich(t, conn, rich{id: "oas", visitor: "a", at: date(2026, 11, 16), revenue: 7, site: "shop"})
	got, err = Attribution(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Site: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Conversions != 1 || got.AttributedConversions != 1 || !near(got.Revenue, 7) {
		t.Errorf("site shop: %d conversions, %d attributed, revenue %v; want 1, 1, 7", got.Conversions, got.AttributedConversions, got.Revenue)
	}
	for _, row := range got.Rows {
		if row.Value == "Organic Search" && !near(row.FirstTouch.Revenue, 7) || row.Value == "Email" && !near(row.LastNonDirect.Conversions, 1) {
			t.Errorf("site shop: %s = first %+v, last non-direct %+v", row.Value, *row.FirstTouch, *row.LastNonDirect)
		}
	}
	if len(got.Rows) != 3 {
		t.Errorf("site shop: %d rows, want 3 (a's channels)", len(got.Rows))
	}
}

func checkCredits(t *testing.T, got *AttributionReport, want map[string]credits) {
	t.Helper()
	if len(got.Rows) != len(want) {
		t.Errorf("%d rows, want %d: %+v", len(got.Rows), len(want), got.Rows)
	}
	for _, row := range got.Rows {
		w, ok := want[row.Value]
		if !ok {
			t.Errorf("unexpected row %q", row.Value)
			continue
		}
		for i, m := range Models {
			c := row.Credit(m)
			if c == nil || !near(c.Conversions, w[i][0]) || !near(c.Revenue, w[i][1]) {
				t.Errorf("%s %s = %+v, want %v", row.Value, m, c, w[i])
			}
		}
	}
}

// TestAttributionInvariant: under every model, dimension and lookback the
// credits add up to the conversions with a touch, and their revenue.
func TestAttributionInvariant(t *testing.T) {
	conn := migratedConn(t)
	attributionFixtures(t, conn)
	for _, lookback := range []time.Duration{time.Hour, 24 * time.Hour, 10 * 24 * time.Hour, DefaultLookback, 60 * 24 * time.Hour} {
		for _, dim := range Dimensions {
			opts := Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Lookback: lookback, Dimension: dim}
			got, err := Attribution(t.Context(), conn, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range Models {
				var n, rev float64
				for _, row := range got.Rows {
					n += row.Credit(m).Conversions
					rev += row.Credit(m).Revenue
				}
				if !near(n, float64(got.AttributedConversions)) || !near(rev, got.AttributedRevenue) {
					t.Errorf("lookback %s %s %s: credits %v, revenue %v; attributed %d, %v",
						lookback, dim, m, n, rev, got.AttributedConversions, got.AttributedRevenue)
				}
			}
		}
	}
	// The attributed conversions themselves, by hand: a 1 h lookback keeps
	// the sessions that start at the order (a, b) or 12 h before it (d's
	// second); 60 days adds c's Organic Social but no conversion.
	for _, tc := range []struct {
		lookback time.Duration
		want     uint64
	}{{time.Hour, 2}, {12 * time.Hour, 3}, {24 * time.Hour, 5}, {60 * 24 * time.Hour, 5}} {
		got, err := Attribution(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1), Lookback: tc.lookback})
		if err != nil {
			t.Fatal(err)
		}
		if got.AttributedConversions != tc.want {
			t.Errorf("lookback %s: %d attributed, want %d", tc.lookback, got.AttributedConversions, tc.want)
		}
	}
}

func TestAttributionOptions(t *testing.T) {
	for _, o := range []Options{
		{Model: "u_shaped"},
		{Dimension: "country"},
		{Lookback: -time.Hour},
	} {
		o.From, o.To = date(2026, 11, 1), date(2026, 12, 1)
		if _, err := Attribution(t.Context(), nil, o); err == nil {
			t.Errorf("Attribution(%+v): no error", o)
		}
	}
	r := &AttributionReport{Dimension: "channel", Models: []string{ModelLinear}, Rows: []AttributionRow{
		{Value: "Email", Linear: &Credit{Conversions: 1.5, Revenue: 30}}}}
	var b bytes.Buffer
	if err := Write(&b, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	want := `{"dimension":"channel","lookback_seconds":0,"models":["linear"],"conversions":0,"revenue":0,` +
		`"attributed_conversions":0,"attributed_revenue":0,"rows":[{"value":"Email","linear":{"conversions":1.5,"revenue":30}}]}` + "\n"
	if b.String() != want {
		t.Errorf("json:\n got %s\nwant %s", b.String(), want)
	}
	b.Reset()
	if err := Write(&b, r, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if b.String() != "channel,linear_conversions,linear_revenue\nEmail,1.5,30\n" {
		t.Errorf("csv:\n%s", b.String())
	}
}

// TestAttributionByPerson: person u1 browses on a phone (m, Paid Social,
// Nov 1) and buys on a laptop (k, Direct, Nov 5, 60); t buys without a
// session of its own (Nov 12, 5), its person u3's other device t2 came
// through Organic Search on Nov 10; x is linked to nobody (Email, 10).
func TestAttributionByPerson(t *testing.T) {
	conn := migratedConn(t)
	day := func(d int) time.Time { return date(2026, 11, d) }
	insertTouches(t, conn,
		touch{id: "m1", visitor: "m", start: day(1), channel: "Paid Social"},
		touch{id: "k1", visitor: "k", start: day(5), channel: "Direct"},
		touch{id: "t21", visitor: "t2", start: day(10), channel: "Organic Search"},
		touch{id: "x1", visitor: "x", start: day(3), channel: "Email"},
	)
	insertRich(t, conn,
		rich{id: "ok", visitor: "k", at: day(5), revenue: 60},
		rich{id: "ot", visitor: "t", at: day(12), revenue: 5},
		rich{id: "ox", visitor: "x", at: day(3), revenue: 10},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('m', 'u1', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'identify', 'i1'),
		('k', 'u1', '2026-11-05 00:00:00', '2026-11-05 00:00:00', 'identify', 'i2'),
		('t', 'u3', '2026-11-12 00:00:00', '2026-11-12 00:00:00', 'identify', 'i3'),
		('t2', 'u3', '2026-11-10 00:00:00', '2026-11-10 00:00:00', 'identify', 'i4')`)
	opts := Options{From: day(1), To: day(30)}

	// By visitor (the default, and "visitor"): k's order has its Direct
	// session alone; t's order has no touch.
	for _, by := range []string{"", ByVisitor} {
		opts.By = by
		got, err := Attribution(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.By != "" || got.Conversions != 3 || !near(got.Revenue, 75) || got.AttributedConversions != 2 || !near(got.AttributedRevenue, 70) {
			t.Errorf("by %q: %q totals %d %v %d %v, want 3 75 2 70", by, got.By, got.Conversions, got.Revenue, got.AttributedConversions, got.AttributedRevenue)
		}
		checkCredits(t, got, map[string]credits{
			"Direct": {{1, 60}, {1, 60}, {1, 60}, {1, 60}, {1, 60}},
			"Email":  {{1, 10}, {1, 10}, {1, 10}, {1, 10}, {1, 10}},
		})
	}

	// By person: k's order has m1 (4 days before) then k1 (0 days); t's
	// order is credited to t2's session (2 days before).
	opts.By = ByPerson
	got, err := Attribution(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.By != ByPerson || got.Conversions != 3 || !near(got.Revenue, 75) || got.AttributedConversions != 3 || !near(got.AttributedRevenue, 75) {
		t.Errorf("by person: %q totals %d %v %d %v, want 3 75 3 75", got.By, got.Conversions, got.Revenue, got.AttributedConversions, got.AttributedRevenue)
	}
	// Paid Social's time-decay share: 2^(-4/7) / (2^(-4/7) + 1).
	w := math.Pow(2, -4.0/7) / (math.Pow(2, -4.0/7) + 1)
	checkCredits(t, got, map[string]credits{
		"Direct":         {{0, 0}, {0, 0}, {0.5, 30}, {0.5, 30}, {1 - w, 60 * (1 - w)}},
		"Email":          {{1, 10}, {1, 10}, {1, 10}, {1, 10}, {1, 10}},
		"Organic Search": {{1, 5}, {1, 5}, {1, 5}, {1, 5}, {1, 5}},
		"Paid Social":    {{1, 60}, {1, 60}, {0.5, 30}, {0.5, 30}, {w, 60 * w}},
	})
	var b bytes.Buffer
	if err := Write(&b, got, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"by":"person"`) {
		t.Errorf("json lacks by: %s", b.String())
	}

	opts.By = "session"
	if _, err := Attribution(t.Context(), conn, opts); !errors.Is(err, ErrNotSupported) {
		t.Errorf("by session: %v, want ErrNotSupported", err)
	}
}
