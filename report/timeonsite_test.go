package report

import (
	"testing"
	"time"
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

	got, err := TimeOnSite(t.Context(), conn, Options{From: from, To: to})
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
		got, err := TimeOnSite(t.Context(), conn, Options{From: date(2027, 1, 1), To: date(2027, 2, 1)})
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
