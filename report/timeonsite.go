package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// TimeOnSiteReport is the answer of `touchstream report time-on-site`;
// sql/queries/time_on_site.sql defines each number, and its companions
// compute the same numbers per group.
type TimeOnSiteReport struct {
	Sessions        uint64       `json:"sessions"`
	DurationSeconds Distribution `json:"duration_seconds"`
	EngagedSeconds  Distribution `json:"engaged_seconds"`
	BounceRate      float64      `json:"bounce_rate"`
	EngagementRate  float64      `json:"engagement_rate"`
	// Breakdowns are the same numbers per channel, landing page,
	// touchpoint, device and stage reached (time_on_site_breakdown.sql),
	// by dimension in that order, then most sessions first.
	Breakdowns []TimeOnSiteGroup `json:"breakdowns,omitempty"`
	// Histogram counts sessions by duration and by engaged time in seven
	// buckets, 0-10 s to 30+ min (time_on_site_histogram.sql).
	Histogram []HistogramBucket `json:"histogram,omitempty"`
}

// TimeOnSiteGroup is time on site of the sessions with one value of a
// dimension: "channel", "landing_page", "touchpoint", "device" or "stage"
// (the furthest journey stage of the session's events).
type TimeOnSiteGroup struct {
	Dimension       string       `json:"dimension"`
	Value           string       `json:"value"`
	Sessions        uint64       `json:"sessions"`
	DurationSeconds Distribution `json:"duration_seconds"`
	EngagedSeconds  Distribution `json:"engaged_seconds"`
	BounceRate      float64      `json:"bounce_rate"`
	EngagementRate  float64      `json:"engagement_rate"`
}

// HistogramBucket counts the sessions whose duration, and whose engaged
// time, is in [LowerSeconds, UpperSeconds); UpperSeconds is 0 for the last
// bucket, which has no bound.
type HistogramBucket struct {
	Label            string  `json:"label"`
	LowerSeconds     float64 `json:"lower_seconds"`
	UpperSeconds     float64 `json:"upper_seconds,omitempty"`
	DurationSessions uint64  `json:"duration_sessions"`
	EngagedSessions  uint64  `json:"engaged_sessions"`
}

// Distribution summarises a number over sessions: its mean, median and
// 90th percentile (quantileExact).
type Distribution struct {
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

// Kind is KindTimeOnSite.
func (*TimeOnSiteReport) Kind() string { return KindTimeOnSite }

// TimeOnSite runs sql/queries/time_on_site.sql, and with opts.Detail its
// companions time_on_site_breakdown.sql and time_on_site_histogram.sql:
// opts.From, To, Site and Filter. A session passes the filter when its
// first event does: the session's traffic_channel and touchpoint (those of
// its first event, which the breakdown reads) and that event's properties;
// the companions run after the filtered text, so every number is of the
// sessions that pass.
func TimeOnSite(ctx context.Context, conn driver.Conn, opts Options) (*TimeOnSiteReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("time on site: %w", err)
	}
	query, err := filteredSQL("time_on_site", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("time on site: %w", err)
	}
	var (
		r       TimeOnSiteReport
		engaged uint64
	)
	err = conn.QueryRow(ctx, query, opts.rangeParams()...).Scan(&r.Sessions,
		&r.DurationSeconds.Mean, &r.DurationSeconds.Median, &r.DurationSeconds.P90,
		&r.EngagedSeconds.Mean, &r.EngagedSeconds.Median, &r.EngagedSeconds.P90,
		&engaged, &r.BounceRate, &r.EngagementRate)
	if err != nil {
		return nil, fmt.Errorf("time on site: query: %w", err)
	}
	if !opts.Detail {
		return &r, nil
	}
	params := opts.rangeParams()
	breakdown, err := companionSQL(query, scopeEnd, "time_on_site_breakdown")
	if err == nil {
		err = scanRows(ctx, conn, breakdown, params, func(rows driver.Rows) error {
			var (
				g       TimeOnSiteGroup
				engaged uint64
			)
			if err := rows.Scan(&g.Dimension, &g.Value, &g.Sessions,
				&g.DurationSeconds.Mean, &g.DurationSeconds.Median, &g.DurationSeconds.P90,
				&g.EngagedSeconds.Mean, &g.EngagedSeconds.Median, &g.EngagedSeconds.P90,
				&engaged, &g.BounceRate, &g.EngagementRate); err != nil {
				return err
			}
			r.Breakdowns = append(r.Breakdowns, g)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("time on site: breakdown: %w", err)
	}
	histogram, err := companionSQL(query, scopeEnd, "time_on_site_histogram")
	if err == nil {
		err = scanRows(ctx, conn, histogram, params, func(rows driver.Rows) error {
			var (
				b      HistogramBucket
				bucket uint64
			)
			if err := rows.Scan(&bucket, &b.Label, &b.LowerSeconds, &b.UpperSeconds, &b.DurationSessions, &b.EngagedSessions); err != nil {
				return err
			}
			r.Histogram = append(r.Histogram, b)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("time on site: histogram: %w", err)
	}
	return &r, nil
}

// scopeEnd is the line of time_on_site.sql that ends its WITH clause, the
// sessions and aggregates its companion queries share.
const scopeEnd = "-- scope end"

func (r *TimeOnSiteReport) records() [][]string {
	return [][]string{
		{"sessions", "duration_mean", "duration_median", "duration_p90",
			"engaged_mean", "engaged_median", "engaged_p90", "bounce_rate", "engagement_rate"},
		{formatUint(r.Sessions),
			formatFloat(r.DurationSeconds.Mean), formatFloat(r.DurationSeconds.Median), formatFloat(r.DurationSeconds.P90),
			formatFloat(r.EngagedSeconds.Mean), formatFloat(r.EngagedSeconds.Median), formatFloat(r.EngagedSeconds.P90),
			formatFloat(r.BounceRate), formatFloat(r.EngagementRate)},
	}
}

// maxBreakdownRows is how many values of each dimension the table and HTML
// formats show (most sessions first); JSON has them all.
const maxBreakdownRows = 10

func (r *TimeOnSiteReport) display() []table {
	tables := []table{
		{
			{"SESSIONS", "BOUNCE RATE", "ENGAGEMENT RATE"},
			{formatUint(r.Sessions), formatPercent(r.BounceRate), formatPercent(r.EngagementRate)},
		},
		{
			{"", "MEAN", "MEDIAN", "P90"},
			{"session duration", formatSeconds(r.DurationSeconds.Mean), formatSeconds(r.DurationSeconds.Median), formatSeconds(r.DurationSeconds.P90)},
			{"engaged time", formatSeconds(r.EngagedSeconds.Mean), formatSeconds(r.EngagedSeconds.Median), formatSeconds(r.EngagedSeconds.P90)},
		},
	}
	if len(r.Histogram) > 0 {
		t := table{{"TIME", "SESSIONS BY DURATION", "SESSIONS BY ENGAGED TIME"}}
		for _, b := range r.Histogram {
			t = append(t, []string{b.Label, formatUint(b.DurationSessions), formatUint(b.EngagedSessions)})
		}
		tables = append(tables, t)
	}
	var (
		t    table
		dim  string
		rows int
	)
	for _, g := range r.Breakdowns {
		if g.Dimension != dim {
			if t != nil {
				tables = append(tables, t)
			}
			dim, rows = g.Dimension, 0
			t = table{{strings.ToUpper(strings.ReplaceAll(dim, "_", " ")), "SESSIONS", "MEAN DURATION", "MEDIAN", "P90",
				"MEAN ENGAGED", "MEDIAN", "P90", "BOUNCE RATE"}}
		}
		if rows++; rows > maxBreakdownRows {
			continue
		}
		t = append(t, []string{g.Value, formatUint(g.Sessions),
			formatSeconds(g.DurationSeconds.Mean), formatSeconds(g.DurationSeconds.Median), formatSeconds(g.DurationSeconds.P90),
			formatSeconds(g.EngagedSeconds.Mean), formatSeconds(g.EngagedSeconds.Median), formatSeconds(g.EngagedSeconds.P90),
			formatPercent(g.BounceRate)})
	}
	if t != nil {
		tables = append(tables, t)
	}
	return tables
}
