package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Retention cohorts (`touchstream report retention --cohort`).
const (
	CohortFirstVisit    = "first-visit"    // the default: by the visitor's first event
	CohortFirstPurchase = "first-purchase" // by the visitor's first Order Completed
)

// Retention periods (`--period`).
const (
	PeriodWeek  = "week" // the default; weeks start on Monday (UTC)
	PeriodMonth = "month"
)

// RetentionReport is the answer of `touchstream report retention`;
// sql/queries/retention.sql defines each number.
type RetentionReport struct {
	// Cohort is CohortFirstVisit or CohortFirstPurchase.
	Cohort string `json:"cohort"`
	// Period is PeriodWeek or PeriodMonth.
	Period string `json:"period"`
	// By is ByPerson when the cohorts are of persons (the visitors linked
	// to one user id count as one); empty (left out of the JSON) for the
	// default, visitors.
	By string `json:"by,omitempty"`
	// Cohorts are ordered by their period.
	Cohorts []RetentionCohort `json:"cohorts"`
}

// RetentionCohort is the visitors whose first visit (or purchase) fell in
// one period, and what they did in that period and each later one.
type RetentionCohort struct {
	// Cohort is the first day of the cohort's period, 2026-11-02.
	Cohort string `json:"cohort"`
	// Size is the number of visitors (persons with ByPerson) in the cohort.
	Size uint64 `json:"size"`
	// Periods has one entry per period offset, 0 (the cohort's own period)
	// up to the period that contains the end of the range.
	Periods []RetentionPeriod `json:"periods"`
}

// RetentionPeriod is one period after a cohort's.
type RetentionPeriod struct {
	Offset         uint64  `json:"offset"`
	Active         uint64  `json:"active"`
	ActiveShare    float64 `json:"active_share"`
	Purchasers     uint64  `json:"purchasers"`
	PurchaserShare float64 `json:"purchaser_share"`
}

// Kind is KindRetention.
func (*RetentionReport) Kind() string { return KindRetention }

// Retention runs sql/queries/retention.sql: opts.From, To, Site, Cohort,
// Period, By and Filter. By ByPerson a cohort member is a person (the
// visitors linked to one user id, the persons view): its first visit or
// purchase, activity and purchases are those of all its devices. With a
// Filter a unit is kept when its cohort entry event (its first event, or
// first Order Completed, ties by message_id) passes; its later activity and
// purchases count whatever their channel.
func Retention(ctx context.Context, conn driver.Conn, opts Options) (*RetentionReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	r := &RetentionReport{Cohort: opts.Cohort, Period: opts.Period, Cohorts: []RetentionCohort{}}
	switch r.Cohort {
	case "":
		r.Cohort = CohortFirstVisit
	case CohortFirstVisit, CohortFirstPurchase:
	default:
		return nil, fmt.Errorf("retention: cohort %q: want %s or %s", r.Cohort, CohortFirstVisit, CohortFirstPurchase)
	}
	switch r.Period {
	case "":
		r.Period = PeriodWeek
	case PeriodWeek, PeriodMonth:
	default:
		return nil, fmt.Errorf("retention: period %q: want %s or %s", r.Period, PeriodWeek, PeriodMonth)
	}
	by, err := checkBy(opts.By, ByVisitor, ByPerson) // cohorts of sessions would return every time
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	if by == ByPerson {
		r.By = ByPerson
	}
	// With a filter, the units whose cohort entry event passes it
	// (retention.sql); unfiltered, the text of the view report_retention.
	query, err := filteredSQL("retention", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	params := append(opts.rangeParams(), chgo.Named("cohort", r.Cohort), chgo.Named("period", r.Period), chgo.Named("by", by))
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("retention: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cohort time.Time
			size   uint64
			p      RetentionPeriod
		)
		if err := rows.Scan(&cohort, &size, &p.Offset, &p.Active, &p.ActiveShare, &p.Purchasers, &p.PurchaserShare); err != nil {
			return nil, fmt.Errorf("retention: scan: %w", err)
		}
		day := cohort.Format(time.DateOnly)
		if n := len(r.Cohorts); n == 0 || r.Cohorts[n-1].Cohort != day {
			r.Cohorts = append(r.Cohorts, RetentionCohort{Cohort: day, Size: size})
		}
		c := &r.Cohorts[len(r.Cohorts)-1]
		c.Periods = append(c.Periods, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: query: %w", err)
	}
	return r, nil
}

func (r *RetentionReport) records() [][]string {
	out := [][]string{{"cohort", "size", "period_offset", "active", "active_share", "purchasers", "purchaser_share"}}
	for _, c := range r.Cohorts {
		for _, p := range c.Periods {
			out = append(out, []string{c.Cohort, formatUint(c.Size), formatUint(p.Offset), formatUint(p.Active),
				formatFloat(p.ActiveShare), formatUint(p.Purchasers), formatFloat(p.PurchaserShare)})
		}
	}
	return out
}

// display is the classic triangle: a row per cohort, a column per offset,
// the share of the cohort active; then the same for purchasers.
func (r *RetentionReport) display() []table {
	width := 0
	for _, c := range r.Cohorts {
		width = max(width, len(c.Periods))
	}
	tri := func(label string, share func(RetentionPeriod) float64) table {
		first := "COHORT (" + r.Cohort + ", by " + r.Period + ")"
		if r.By != "" {
			first = "COHORT OF " + strings.ToUpper(r.By) + "S (" + r.Cohort + ", by " + r.Period + ")"
		}
		header := []string{first, "SIZE"}
		for k := range width {
			header = append(header, fmt.Sprintf("%s %d", label, k))
		}
		t := table{header}
		for _, c := range r.Cohorts {
			row := []string{c.Cohort, formatUint(c.Size)}
			for k := range width {
				cell := ""
				if k < len(c.Periods) {
					cell = formatPercent(share(c.Periods[k]))
				}
				row = append(row, cell)
			}
			t = append(t, row)
		}
		return t
	}
	return []table{
		tri("ACTIVE +", func(p RetentionPeriod) float64 { return p.ActiveShare }),
		tri("BOUGHT +", func(p RetentionPeriod) float64 { return p.PurchaserShare }),
	}
}
