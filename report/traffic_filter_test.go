package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTrafficFilter checks the report filter of traffic: --channel and
// --touchpoint keep the rollup rows, so the events, whose own channel and
// touchpoint pass (an order counts by its own channel, like any event), so
// that a day filtered by channel X is the X row of the unfiltered day, and
// the totals stay distinct counts over what is kept.
func TestTrafficFilter(t *testing.T) {
	conn := migratedConn(t)
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	order := fev{id: "t2", visitor: "v1", session: "s1", channel: "Email", touchpoint: "email", name: "Order Completed", at: at(1, 10, 5), revenue: 50, site: "shop"}
	// Events of the source "shop", page views ("Home") but for the orders;
	// the materialized view traffic_daily_mv fills the rollup from them.
	insertFull(t, conn, unnamedAsHome(
		fev{id: "t1", visitor: "v1", session: "s1", channel: "Email", touchpoint: "email", at: at(1, 10, 0), site: "shop"},
		order,
		// v2 comes through two channels on Nov 1, on the web both times.
		fev{id: "t3", visitor: "v2", session: "s2", channel: "Direct", touchpoint: "web", at: at(1, 11, 0), site: "shop"},
		fev{id: "t4", visitor: "v2", session: "s3", channel: "Email", touchpoint: "web", at: at(1, 12, 0), site: "shop"},
		// v3 came from Paid Search, its order is Direct.
		fev{id: "t5", visitor: "v3", session: "s4", channel: "Paid Search", touchpoint: "web", at: at(1, 13, 0), site: "shop"},
		fev{id: "t6", visitor: "v3", session: "s4", channel: "Direct", touchpoint: "web", name: "Order Completed", at: at(1, 13, 10), revenue: 30, site: "shop"},
		fev{id: "t7", visitor: "v1", session: "s5", channel: "Email", touchpoint: "app", at: at(2, 9, 0), site: "shop"},
		fev{id: "t8", visitor: "v2", session: "s6", channel: "Direct", touchpoint: "web", at: at(2, 10, 0), site: "shop"},
		fev{id: "t9", visitor: "v4", session: "s7", channel: "Email", touchpoint: "email", at: at(2, 11, 0), site: "shop"},
		// Out of the range.
		fev{id: "t10", visitor: "v1", session: "s8", channel: "Email", touchpoint: "email", at: at(3, 9, 0), site: "shop"},
	)...)
	insertFull(t, conn, order) // a redelivery: another block, the same event
	from, to := date(2026, 11, 1), date(2026, 11, 3)
	run := func(t *testing.T, f Filter) *TrafficReport {
		t.Helper()
		r, err := Traffic(t.Context(), conn, Options{From: from, To: to, Filter: f})
		if err != nil {
			t.Fatalf("filter %+v: %v", f, err)
		}
		return r
	}
	all := run(t, Filter{})

	cases := []struct {
		name   string
		filter Filter
		want   string
		// row is the channel whose unfiltered rows each filtered day must
		// equal, day total included ("" none).
		row string
	}{
		{
			// Nov 1: v2 in two rows, once in the total. Range: 4 visitors,
			// 7 sessions, 9 events (the redelivered order once).
			name: "none",
			want: "2026-11-01 Direct 2 2 2 1 30.00 1 0.5000\n" +
				"2026-11-01 Email 2 2 3 1 50.00 1 0.5000\n" +
				"2026-11-01 Paid Search 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-01 * 3 4 6 2 80.00 2 0.6667\n" +
				"2026-11-02 Direct 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-02 Email 2 2 2 0 0.00 0 0.0000\n" +
				"2026-11-02 * 3 3 3 0 0.00 0 0.0000\n" +
				"all * 4 7 9 2 80.00 2 0.5000",
		},
		{
			// v1 v2 v4; s1 s3 s5 s7; t1 t2 t4 t7 t9; v1's order.
			name: "channel Email", filter: Filter{Channels: []string{"Email"}}, row: "Email",
			want: "2026-11-01 Email 2 2 3 1 50.00 1 0.5000\n" +
				"2026-11-01 * 2 2 3 1 50.00 1 0.5000\n" +
				"2026-11-02 Email 2 2 2 0 0.00 0 0.0000\n" +
				"2026-11-02 * 2 2 2 0 0.00 0 0.0000\n" +
				"all * 3 4 5 1 50.00 1 0.3333",
		},
		{
			// v3's session came from Paid Search; its order, Direct, is not
			// in the Paid Search row, so not in the filtered report.
			name: "channel Paid Search", filter: Filter{Channels: []string{"Paid Search"}}, row: "Paid Search",
			want: "2026-11-01 Paid Search 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-01 * 1 1 1 0 0.00 0 0.0000\n" +
				"all * 1 1 1 0 0.00 0 0.0000",
		},
		{
			// Nov 1: v2 on both kept channels counts once (3 visitors, not
			// 4); v3 is a Direct customer. Range: v1..v4, s1..s7 less s4's
			// Paid Search event (s4 still counts through its order).
			name: "channels Direct or Email", filter: Filter{Channels: []string{"Email", "Direct"}},
			want: "2026-11-01 Direct 2 2 2 1 30.00 1 0.5000\n" +
				"2026-11-01 Email 2 2 3 1 50.00 1 0.5000\n" +
				"2026-11-01 * 3 4 5 2 80.00 2 0.6667\n" +
				"2026-11-02 Direct 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-02 Email 2 2 2 0 0.00 0 0.0000\n" +
				"2026-11-02 * 3 3 3 0 0.00 0 0.0000\n" +
				"all * 4 7 8 2 80.00 2 0.5000",
		},
		{
			// t3 t4 t5 t6 t8: v2 v3; s2 s3 s4 s6; v3's order.
			name: "touchpoint web", filter: Filter{Touchpoints: []string{"web"}},
			want: "2026-11-01 Direct 2 2 2 1 30.00 1 0.5000\n" +
				"2026-11-01 Email 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-01 Paid Search 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-01 * 2 3 4 1 30.00 1 0.5000\n" +
				"2026-11-02 Direct 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-02 * 1 1 1 0 0.00 0 0.0000\n" +
				"all * 2 4 5 1 30.00 1 0.5000",
		},
		{
			// t1 t2 t9: v1 v4; s1 s7.
			name: "channel Email and touchpoint email", filter: Filter{Channels: []string{"Email"}, Touchpoints: []string{"email"}},
			want: "2026-11-01 Email 1 1 2 1 50.00 1 1.0000\n" +
				"2026-11-01 * 1 1 2 1 50.00 1 1.0000\n" +
				"2026-11-02 Email 1 1 1 0 0.00 0 0.0000\n" +
				"2026-11-02 * 1 1 1 0 0.00 0 0.0000\n" +
				"all * 2 2 3 1 50.00 1 0.5000",
		},
		{
			name: "touchpoint sms keeps nothing", filter: Filter{Touchpoints: []string{"sms"}},
			want: "all * 0 0 0 0 0.00 0 0.0000",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := all
			if !c.filter.IsZero() {
				got = run(t, c.filter)
			}
			if lines := trafficLines(got); lines != c.want {
				t.Errorf("traffic =\n%s\nwant\n%s", lines, c.want)
			}
			if c.row == "" {
				return
			}
			// The filtered report is, day by day, the unfiltered row.
			var want []string
			for _, d := range all.Days {
				for _, ch := range d.Channels {
					if ch.Channel == c.row {
						want = append(want, fmt.Sprintf("%s %+v", d.Day, ch.TrafficNumbers))
					}
				}
			}
			var rows []string
			for _, d := range got.Days {
				if len(d.Channels) != 1 || d.Channels[0].Channel != c.row || d.Total != d.Channels[0].TrafficNumbers {
					t.Errorf("day %s: %+v, want the %s row alone and as the total", d.Day, d, c.row)
					continue
				}
				rows = append(rows, fmt.Sprintf("%s %+v", d.Day, d.Total))
			}
			if fmt.Sprint(rows) != fmt.Sprint(want) {
				t.Errorf("filtered days %v\nare not the %s rows %v", rows, c.row, want)
			}
		})
	}

	t.Run("where refused", func(t *testing.T) {
		// Refused before any query: conn is nil.
		for _, f := range []Filter{
			{Where: []Property{{"plan", "pro"}}},
			{Channels: []string{"Email"}, Where: []Property{{"plan", ""}}},
		} {
			_, err := Traffic(t.Context(), nil, Options{From: from, To: to, Filter: f})
			if !errors.Is(err, ErrTrafficProperties) || !strings.Contains(err.Error(), "plan=") {
				t.Errorf("filter %+v: %v, want ErrTrafficProperties naming the condition", f, err)
			}
		}
	})
}
