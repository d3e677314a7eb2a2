package report

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// TimeOnSiteReport is the answer of `touchstream report time-on-site`;
// sql/queries/time_on_site.sql defines each number.
type TimeOnSiteReport struct {
	Sessions        uint64       `json:"sessions"`
	DurationSeconds Distribution `json:"duration_seconds"`
	EngagedSeconds  Distribution `json:"engaged_seconds"`
	BounceRate      float64      `json:"bounce_rate"`
	EngagementRate  float64      `json:"engagement_rate"`
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

// TimeOnSite runs sql/queries/time_on_site.sql: opts.From, To and Site.
func TimeOnSite(ctx context.Context, conn driver.Conn, opts Options) (*TimeOnSiteReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("time on site: %w", err)
	}
	query, err := querySQL("time_on_site")
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
	return &r, nil
}

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

func (r *TimeOnSiteReport) display() []table {
	return []table{
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
}
