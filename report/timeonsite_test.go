package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

func TestTimeOnSite(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	ms := time.Millisecond
	insertSessions(t, conn,
		// One page, no time: a bounce.
		sess{id: "s1", visitor: "a", start: t0, pageViews: 1, version: 1},
		// Two page views: engaged.
		sess{id: "s2", visitor: "a", start: t0.Add(time.Hour), duration: 5 * time.Second, pageViews: 2, engagedMS: 3000, version: 1},
		// Exactly 10 s: engaged.
		sess{id: "s3", visitor: "b", start: t0, duration: 10 * time.Second, pageViews: 1, engagedMS: 8000, version: 1},
		// 9.999 s, one page, but a conversion: engaged.
		sess{id: "s4", visitor: "c", start: t0, duration: 9999 * ms, pageViews: 1, engagedMS: 1500, conversions: 1, version: 1},
		// 2 minutes: engaged.
		sess{id: "s5", visitor: "d", start: t0, duration: 2 * time.Minute, pageViews: 1, engagedMS: 60000, version: 1},
		// First version of s6 (superseded below).
		sess{id: "s6", visitor: "e", start: t0, duration: 1000 * time.Second, pageViews: 5, engagedMS: 900000, version: 1},
		// s7 is deleted below.
		sess{id: "s7", visitor: "f", start: t0, duration: 500 * time.Second, pageViews: 3, version: 1},
		// Started before --from, and at --to: out of the range.
		sess{id: "s8", visitor: "g", start: from.Add(-time.Second), duration: time.Hour, pageViews: 9, version: 1},
		sess{id: "s9", visitor: "g", start: to, duration: time.Hour, pageViews: 9, version: 1},
		// 9 s, one page: a bounce.
		sess{id: "s10", visitor: "h", start: t0, duration: 9 * time.Second, pageViews: 1, engagedMS: 2000, version: 1},
	)
	insertSessions(t, conn,
		// The newest version of s6 wins: 30 s, 20 s engaged.
		sess{id: "s6", visitor: "e", start: t0, duration: 30 * time.Second, pageViews: 1, engagedMS: 20000, version: 2},
		// A tombstone removes s7.
		sess{id: "s7", visitor: "f", start: t0, duration: 500 * time.Second, pageViews: 3, version: 2, deleted: true},
	)

	got, err := TimeOnSite(t.Context(), conn, Options{Detail: true, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	// Sessions s1 s2 s3 s4 s5 s6 s10 = 7.
	// Durations 0 5 9 9.999 10 30 120: mean 183.999/7; quantileExact(q)
	// takes index floor(7q) of the sorted values: median [3] = 9.999,
	// p90 [6] = 120.
	// Engaged 0 1.5 2 3 8 20 60: mean 94.5/7 = 13.5, median 3, p90 60.
	// Engaged sessions s2 s3 s4 s5 s6 = 5: engagement 5/7, bounce 2/7.
	want := TimeOnSiteReport{
		Sessions:        7,
		DurationSeconds: Distribution{Mean: 183.999 / 7, Median: 9.999, P90: 120},
		EngagedSeconds:  Distribution{Mean: 13.5, Median: 3, P90: 60},
		BounceRate:      2.0 / 7,
		EngagementRate:  5.0 / 7,
	}
	checkTimeOnSite(t, got, want)

	t.Run("empty range", func(t *testing.T) {
		got, err := TimeOnSite(t.Context(), conn, Options{Detail: true, From: date(2027, 1, 1), To: date(2027, 2, 1)})
		if err != nil {
			t.Fatal(err)
		}
		checkTimeOnSite(t, got, TimeOnSiteReport{})
	})
}

func checkTimeOnSite(t *testing.T, got *TimeOnSiteReport, want TimeOnSiteReport) {
	t.Helper()
	ok := got.Sessions == want.Sessions && near(got.BounceRate, want.BounceRate) && near(got.EngagementRate, want.EngagementRate)
	for _, p := range [][2]Distribution{{got.DurationSeconds, want.DurationSeconds}, {got.EngagedSeconds, want.EngagedSeconds}} {
		ok = ok && near(p[0].Mean, p[1].Mean) && near(p[0].Median, p[1].Median) && near(p[0].P90, p[1].P90)
	}
	if !ok {
		t.Errorf("time on site = %+v\nwant %+v", *got, want)
	}
}

// sessionRow is one row of sessions with the columns the breakdowns read.
type sessionRow struct {
	id, visitor                        string
	start                              time.Time
	duration                           time.Duration
	pageViews, engagedMS               int
	channel, entry, touchpoint, device string
}

func insertVisits(t *testing.T, conn driver.Conn, rows ...sessionRow) {
	t.Helper()
	var values []string
	for _, r := range rows {
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %d, %d, %s, %s, %s, %s, 1, 0)",
			sqlString(r.id), sqlString(r.visitor), sqlTime(r.start), sqlTime(r.start.Add(r.duration)),
			r.pageViews, r.engagedMS, sqlString(r.channel), sqlString(r.entry), sqlString(r.touchpoint), sqlString(r.device)))
	}
	exec(t, conn, "INSERT INTO sessions (session_id, visitor_id, start_time, end_time, page_views, engaged_msec, traffic_channel, entry_page, touchpoint, device_type, version, is_deleted) VALUES "+
		strings.Join(values, ", "))
}

// insertStages inserts one event per "session:stage" of visitor.
func insertStages(t *testing.T, conn driver.Conn, visitor string, at time.Time, stages ...string) {
	t.Helper()
	var values []string
	for i, st := range stages {
		session, stage, _ := strings.Cut(st, ":")
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, 'track', 'X')",
			sqlString(fmt.Sprintf("%s-%d", visitor, i)), sqlTime(at.Add(time.Duration(i)*time.Second)),
			sqlString(visitor), sqlString(session), sqlString(stage)))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, visitor_id, session_id, stage, type, event_name) VALUES "+
		strings.Join(values, ", "))
}

// TestTimeOnSiteBreakdowns checks the breakdowns and the histogram against
// hand-computed answers.
func TestTimeOnSiteBreakdowns(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	sec := time.Second
	insertVisits(t, conn,
		sessionRow{id: "s1", visitor: "a", start: t0, duration: 5 * sec, pageViews: 1, engagedMS: 2000, channel: "Organic Search", entry: "/", touchpoint: "web", device: "desktop"},
		sessionRow{id: "s2", visitor: "b", start: t0, duration: 20 * sec, pageViews: 2, engagedMS: 15000, channel: "Organic Search", entry: "/pricing", touchpoint: "web", device: "mobile"},
		sessionRow{id: "s3", visitor: "c", start: t0, duration: 45 * sec, pageViews: 1, engagedMS: 40000, channel: "Email", entry: "/", touchpoint: "email", device: "mobile"},
		sessionRow{id: "s4", visitor: "d", start: t0, duration: 120 * sec, pageViews: 3, engagedMS: 100000, channel: "Email", entry: "/pricing", touchpoint: "web", device: "desktop"},
		sessionRow{id: "s5", visitor: "e", start: t0, duration: time.Hour, pageViews: 5, engagedMS: 700000, touchpoint: "app"},
		sessionRow{id: "s6", visitor: "f", start: t0, duration: 10 * sec, pageViews: 1, channel: "Email", entry: "/", touchpoint: "web", device: "desktop"},
		// Out of the range.
		sessionRow{id: "s7", visitor: "g", start: date(2026, 10, 31), duration: 5 * sec, channel: "Email", entry: "/", touchpoint: "web", device: "desktop"},
	)
	insertStages(t, conn, "a", t0, "s1:awareness")
	insertStages(t, conn, "b", t0, "s2:awareness", "s2:evaluation")
	insertStages(t, conn, "d", t0, "s4:awareness", "s4:purchase", "s4:", "other:advocacy")
	insertStages(t, conn, "e", t0, "s5:return")

	got, err := TimeOnSite(t.Context(), conn, Options{Detail: true, From: date(2026, 11, 1), To: date(2026, 11, 15)})
	if err != nil {
		t.Fatal(err)
	}
	// Without Detail: the same totals and none of the breakdowns.
	plain, err := TimeOnSite(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 11, 15)})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Sessions != got.Sessions || plain.DurationSeconds != got.DurationSeconds || plain.Breakdowns != nil || plain.Histogram != nil {
		t.Errorf("without Detail: %+v", plain)
	}
	// Durations s1..s6: 5 20 45 120 3600 10; engaged 2 15 40 100 700 0.
	// Engaged sessions: all but s1 (5 s, one page).
	wantHist := []HistogramBucket{
		{Label: "0-10 s", LowerSeconds: 0, UpperSeconds: 10, DurationSessions: 1, EngagedSessions: 2},
		{Label: "10-30 s", LowerSeconds: 10, UpperSeconds: 30, DurationSessions: 2, EngagedSessions: 1},
		{Label: "30-60 s", LowerSeconds: 30, UpperSeconds: 60, DurationSessions: 1, EngagedSessions: 1},
		{Label: "1-3 min", LowerSeconds: 60, UpperSeconds: 180, DurationSessions: 1, EngagedSessions: 1},
		{Label: "3-10 min", LowerSeconds: 180, UpperSeconds: 600},
		{Label: "10-30 min", LowerSeconds: 600, UpperSeconds: 1800, EngagedSessions: 1},
		{Label: "30+ min", LowerSeconds: 1800, DurationSessions: 1},
	}
	if fmt.Sprint(got.Histogram) != fmt.Sprint(wantHist) {
		t.Errorf("histogram = %+v\nwant %+v", got.Histogram, wantHist)
	}

	// quantileExact(q) of n sorted values is the one at floor(q*n).
	one := func(dim, value string, d, e float64) TimeOnSiteGroup {
		return TimeOnSiteGroup{Dimension: dim, Value: value, Sessions: 1,
			DurationSeconds: Distribution{d, d, d}, EngagedSeconds: Distribution{e, e, e}, EngagementRate: 1}
	}
	want := []TimeOnSiteGroup{
		// Email s3 s4 s6: durations 10 45 120, engaged 0 40 100.
		{"channel", "Email", 3, Distribution{175.0 / 3, 45, 120}, Distribution{140.0 / 3, 40, 100}, 0, 1},
		// Organic Search s1 s2: 5 20, 2 15; s1 bounces.
		{"channel", "Organic Search", 2, Distribution{12.5, 20, 20}, Distribution{8.5, 15, 15}, 0.5, 0.5},
		one("channel", "(none)", 3600, 700),
		// "/" s1 s3 s6: 5 10 45, 0 2 40.
		{"landing_page", "/", 3, Distribution{20, 10, 45}, Distribution{14, 2, 40}, 1.0 / 3, 2.0 / 3},
		{"landing_page", "/pricing", 2, Distribution{70, 120, 120}, Distribution{57.5, 100, 100}, 0, 1},
		one("landing_page", "(none)", 3600, 700),
		// web s1 s2 s4 s6: 5 10 20 120, 0 2 15 100.
		{"touchpoint", "web", 4, Distribution{38.75, 20, 120}, Distribution{29.25, 15, 100}, 0.25, 0.75},
		one("touchpoint", "app", 3600, 700),
		one("touchpoint", "email", 45, 40),
		// desktop s1 s4 s6: 5 10 120, 0 2 100.
		{"device", "desktop", 3, Distribution{45, 10, 120}, Distribution{34, 2, 100}, 1.0 / 3, 2.0 / 3},
		{"device", "mobile", 2, Distribution{32.5, 45, 45}, Distribution{27.5, 40, 40}, 0, 1},
		one("device", "(none)", 3600, 700),
		// No stage event: s3 s6 (10 45, 0 40). s4's advocacy event is in
		// another session; its empty stage does not count.
		{"stage", "(none)", 2, Distribution{27.5, 45, 45}, Distribution{20, 40, 40}, 0, 1},
		{"stage", "awareness", 1, Distribution{5, 5, 5}, Distribution{2, 2, 2}, 1, 0},
		one("stage", "evaluation", 20, 15),
		one("stage", "purchase", 120, 100),
		one("stage", "return", 3600, 700),
	}
	if len(got.Breakdowns) != len(want) {
		t.Fatalf("%d breakdown rows, want %d: %+v", len(got.Breakdowns), len(want), got.Breakdowns)
	}
	for i, w := range want {
		g := got.Breakdowns[i]
		ok := g.Dimension == w.Dimension && g.Value == w.Value && g.Sessions == w.Sessions &&
			near(g.BounceRate, w.BounceRate) && near(g.EngagementRate, w.EngagementRate)
		for _, p := range [][2]Distribution{{g.DurationSeconds, w.DurationSeconds}, {g.EngagedSeconds, w.EngagedSeconds}} {
			ok = ok && near(p[0].Mean, p[1].Mean) && near(p[0].Median, p[1].Median) && near(p[0].P90, p[1].P90)
		}
		if !ok {
			t.Errorf("row %d = %+v\nwant %+v", i, g, w)
		}
	}

	t.Run("empty range", func(t *testing.T) {
		got, err := TimeOnSite(t.Context(), conn, Options{Detail: true, From: date(2027, 1, 1), To: date(2027, 2, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Breakdowns) != 0 || len(got.Histogram) != 7 || got.Histogram[0].DurationSessions != 0 {
			t.Errorf("empty range: breakdowns %+v, histogram %+v", got.Breakdowns, got.Histogram)
		}
	})
}
