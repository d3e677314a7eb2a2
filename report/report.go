package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The report kinds Run knows (`touchstream report KIND`).
const (
	KindFunnel      = "funnel"
	KindAbandonment = "abandonment"
	KindTimeOnSite  = "time-on-site"
	KindStages      = "stages"
	KindAttribution = "attribution"
	KindRetention   = "retention"
	KindSegments    = "segments"
	KindPaths       = "paths"
	KindTraffic     = "traffic"
)

// Kinds lists the report kinds Run knows, in the order the CLI shows them.
var Kinds = []string{KindFunnel, KindAbandonment, KindTimeOnSite, KindStages, KindAttribution, KindRetention, KindSegments, KindPaths, KindTraffic}

// Defaults of the options.
const (
	DefaultWindow = 7 * 24 * time.Hour // funnel conversion window
	DefaultWithin = 24 * time.Hour     // abandonment: how soon an order must follow
	ModeOrdered   = "ordered"          // funnel mode: other events may come between steps
	ModeStrict    = "strict"           // funnel mode: no other event between steps
	ModeAny       = "any"              // funnel mode: every step within the window, in any order
	maxSteps      = 32                 // the query grows with every step; 32 is windowFunnel's limit, kept
	TrendDay      = "day"              // funnel trend: per UTC day of the first step
	TrendWeek     = "week"             // funnel trend: per week (from Monday, UTC) of the first step
)

// ErrUnknownKind is returned by Run for a report kind it does not know.
var ErrUnknownKind = errors.New("unknown report kind")

// ErrNotSupported is returned for an option this version cannot compute
// (for example a drop-off list in funnel mode strict or any, retention or
// attribution by session).
var ErrNotSupported = errors.New("not supported yet")

// Options are the filters of a report. From and To are required; the fields
// a report does not use are ignored.
type Options struct {
	// From and To bound the report to [From, To): events by event_time,
	// sessions by start_time, carts and checkouts by their first event.
	From, To time.Time
	// Site keeps only events with this write_key (the source they came in
	// through); sessions are kept when one of their events has it. Empty
	// keeps everything.
	Site string
	// Filter narrows a report to what its defining event passes (channel,
	// touchpoint, properties; sql/README.md "Report filters"); traffic
	// returns ErrTrafficProperties for property conditions.
	Filter Filter

	// Steps are the funnel's steps, in order: an event name each,
	// alternatives "A|B", a page pattern "page:/p/*", property filters
	// "A[k=v]", and after step 1 an optional per-step window "A within 10m"
	// (at most that long after the step before). At least one, at most 32.
	Steps []string
	// Window is the funnel's conversion window (DefaultWindow when 0).
	Window time.Duration
	// Mode is the funnel mode: ModeOrdered (the default when empty),
	// ModeStrict or ModeAny.
	Mode string
	// Breakdown splits the funnel by the value of the visitor's first
	// step event: one of Breakdowns, or "property:NAME"; empty for none.
	Breakdown string
	// Trend splits the funnel by the period of the visitor's first step
	// event: TrendDay or TrendWeek; empty for none.
	Trend string
	// Exclude are exclusion steps (event names): a visitor with one of
	// them between step 1 and a later step does not count for that step.
	Exclude []string
	// Dropoff K > 0 lists the visitors who reached step K and not K+1,
	// and the events they did next.
	Dropoff int

	// Within is how soon an order must follow a cart or checkout for it not
	// to count as abandoned (DefaultWithin when 0).
	Within time.Duration

	// Detail adds the breakdowns of abandonment (by day and channel, what
	// recovered carts, the abandoned-cart list) and of time on site (by
	// channel, landing page, touchpoint, device and stage; the histogram).
	// They cost several more queries over the same rows, so the plain
	// reports (and DESIGN.md's JSON contract) leave them out.
	Detail bool

	// Model is the attribution model: one of Models, or ModelAll (the
	// default when empty) for every model side by side.
	Model string
	// Lookback is the attribution lookback window (DefaultLookback when 0).
	Lookback time.Duration
	// Dimension is what a row of the attribution report is: one of
	// Dimensions (DimensionChannel when empty).
	Dimension string

	// FromEvent is where a path starts: an event name or "page:/path";
	// empty for the session's entry.
	FromEvent string
	// ToEvent is where a path ends (the paths leading to it): an event
	// name or "page:/path"; empty for none. At most one of FromEvent and
	// ToEvent is set.
	ToEvent string
	// Depth is how many events a path has, the start included
	// (DefaultDepth when 0).
	Depth int

	// Cohort is what puts a visitor in a retention cohort: CohortFirstVisit
	// (the default when empty) or CohortFirstPurchase.
	Cohort string
	// Period is the retention period: PeriodWeek (the default when empty)
	// or PeriodMonth.
	Period string

	// By is what attribution and retention count: ByVisitor (the default
	// when empty) or ByPerson, the visitors linked to one user id (the
	// persons view) counted as one. The funnel takes it as FunnelBy's
	// argument instead.
	By string
}

// validateRange checks From and To.
func (o Options) validateRange() error {
	switch {
	case o.From.IsZero():
		return errors.New("from: required")
	case o.To.IsZero():
		return errors.New("to: required")
	case !o.From.Before(o.To):
		return fmt.Errorf("from %s is not before to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	return nil
}

// rangeParams are the query parameters every report takes.
func (o Options) rangeParams() []any {
	return append([]any{
		chgo.DateNamed("from", o.From, chgo.MilliSeconds),
		chgo.DateNamed("to", o.To, chgo.MilliSeconds),
		chgo.Named("site", o.Site),
	}, o.Filter.params()...)
}

// Result is the answer of one report: *FunnelReport, *AbandonmentReport,
// *TimeOnSiteReport, *StagesReport, *AttributionReport, *RetentionReport,
// *SegmentsReport, *PathsReport or *TrafficReport. Write prints any of them; encoding/json gives the JSON
// of DESIGN.md section 3.
type Result interface {
	// Kind is the report's kind (KindFunnel, ...).
	Kind() string
	// records are the CSV rows, the header first: plain numbers.
	records() [][]string
	// display is what people read: one or more tables, each with its
	// header first, with percentages and durations.
	display() []table
}

// Run runs the report of the given kind (one of Kinds).
func Run(ctx context.Context, conn driver.Conn, kind string, opts Options) (Result, error) {
	switch kind {
	case KindFunnel:
		return Funnel(ctx, conn, opts)
	case KindAbandonment:
		return Abandonment(ctx, conn, opts)
	case KindTimeOnSite:
		return TimeOnSite(ctx, conn, opts)
	case KindStages:
		return Stages(ctx, conn, opts)
	case KindAttribution:
		return Attribution(ctx, conn, opts)
	case KindRetention:
		return Retention(ctx, conn, opts)
	case KindSegments:
		return Segments(ctx, conn, opts)
	case KindPaths:
		return Paths(ctx, conn, opts)
	case KindTraffic:
		return Traffic(ctx, conn, opts)
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownKind, kind, Kinds)
}

// seconds converts a duration to whole seconds for a UInt64 parameter,
// rounding up so that a window never shrinks.
func seconds(d time.Duration) uint64 {
	return uint64((d + time.Second - 1) / time.Second)
}
