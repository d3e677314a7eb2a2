package report

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// What a funnel counts (`touchstream report funnel --by`).
const (
	ByVisitor = "visitor" // the default: visitor ids (devices, browsers)
	ByPerson  = "person"  // persons: visitors linked to one user id count once
	// BySession counts sessions (events.session_id, set by the processor);
	// events without a session id are left out.
	BySession = "session"
)

// Breakdowns are the funnel breakdowns (`--breakdown`), besides
// "property:NAME"; sql/queries/funnel.sql says which column each reads.
var Breakdowns = []string{"channel", "touchpoint", "campaign", "device", "source"}

// FunnelReport is the answer of `touchstream report funnel`.
type FunnelReport struct {
	Steps []FunnelStep `json:"steps"`
	// BreakdownBy is Options.Breakdown; Breakdown the funnel per value,
	// the most visitors at step 1 first.
	BreakdownBy string
	Breakdown   []FunnelGroup
	// TrendBy is Options.Trend; Trend the funnel per period, oldest first.
	TrendBy string
	Trend   []FunnelPeriod
	// Dropoff is the drop-off list of Options.Dropoff, nil without.
	Dropoff *FunnelDropoff

	by string // ByVisitor, ByPerson or BySession, for the display header
}

// FunnelStep is one step of a funnel; sql/queries/funnel.sql defines each
// number.
type FunnelStep struct {
	// Step is the step as given ("A", or "A|B").
	Step string `json:"step"`
	// Count is the number of visitors (persons with ByPerson, sessions
	// with BySession) who reached the step.
	Count uint64 `json:"count"`
	// ConversionFromStart is Count / the first step's Count.
	ConversionFromStart float64 `json:"conversion_from_start"`
	// ConversionFromPrevious is Count / the previous step's Count.
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
	// MedianSecondsToConvert is the median time from step 1 to this step.
	MedianSecondsToConvert float64 `json:"median_seconds_to_convert"`
	// P90SecondsToConvert is the 90th percentile of that time; every
	// report the query computed has it (nil only in hand-made values).
	P90SecondsToConvert *float64 `json:"p90_seconds_to_convert,omitempty"`
}

// FunnelGroup is the funnel of the visitors whose first step event has one
// breakdown value.
type FunnelGroup struct {
	Value string       `json:"value"`
	Steps []FunnelStep `json:"steps"`
}

// FunnelPeriod is the funnel of the visitors whose first step event is in
// one period (its first day, 2026-11-02). Conversion is the last step's
// ConversionFromStart.
type FunnelPeriod struct {
	Period     string       `json:"period"`
	Steps      []FunnelStep `json:"steps"`
	Conversion float64      `json:"conversion"`
}

// Kind is KindFunnel.
func (*FunnelReport) Kind() string { return KindFunnel }

// Funnel runs sql/queries/funnel.sql counting visitors: opts.From, To,
// Site, Steps, Window, Mode, Breakdown, Trend, Exclude and Dropoff.
func Funnel(ctx context.Context, conn driver.Conn, opts Options) (*FunnelReport, error) {
	return FunnelBy(ctx, conn, opts, ByVisitor)
}

// funnelQuery is a checked funnel: what FunnelBy runs.
type funnelQuery struct {
	opts      Options
	by, mode  string
	steps     []funnelStep
	window    uint64 // seconds
	breakdown string // funnel.sql's {breakdown}: channel, ..., property
	property  string // funnel.sql's {breakdown_property}
}

// FunnelBy is Funnel counting by: ByVisitor (or ""), ByPerson, where a
// person is the user id a visitor is linked to in the identities table
// (the persons view), else the visitor, or BySession, where a unit is a
// session (events.session_id; events without one take no part).
func FunnelBy(ctx context.Context, conn driver.Conn, opts Options, by string) (*FunnelReport, error) {
	q, err := checkFunnelOptions(opts, by)
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	groups, err := q.run(ctx, conn, "", "")
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	r := &FunnelReport{Steps: groups[0].Steps, by: q.by}
	switch {
	case q.breakdown != "":
		if r.Breakdown, err = q.run(ctx, conn, q.breakdown, q.property); err != nil {
			return nil, fmt.Errorf("funnel: breakdown: %w", err)
		}
		r.BreakdownBy = opts.Breakdown
		// The biggest groups first; equal ones by value.
		slices.SortStableFunc(r.Breakdown, func(a, b FunnelGroup) int {
			if a.Steps[0].Count != b.Steps[0].Count {
				if a.Steps[0].Count > b.Steps[0].Count {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Value, b.Value)
		})
	case opts.Trend != "":
		groups, err := q.run(ctx, conn, opts.Trend, "")
		if err != nil {
			return nil, fmt.Errorf("funnel: trend: %w", err)
		}
		r.TrendBy = opts.Trend
		r.Trend = make([]FunnelPeriod, len(groups))
		for i, g := range groups {
			r.Trend[i] = FunnelPeriod{Period: g.Value, Steps: g.Steps, Conversion: g.Steps[len(g.Steps)-1].ConversionFromStart}
		}
	case opts.Dropoff > 0:
		if r.Dropoff, err = q.dropoff(ctx, conn); err != nil {
			return nil, fmt.Errorf("funnel: dropoff: %w", err)
		}
	}
	return r, nil
}

// checkFunnelOptions checks the options of a funnel.
func checkFunnelOptions(opts Options, by string) (*funnelQuery, error) {
	by, err := checkBy(by, ByVisitor, ByPerson, BySession)
	if err != nil {
		return nil, err
	}
	if err := opts.validateRange(); err != nil {
		return nil, err
	}
	q := &funnelQuery{opts: opts, by: by, mode: opts.Mode}
	if q.steps, err = parseSteps(opts.Steps); err != nil {
		return nil, err
	}
	switch q.mode {
	case "":
		q.mode = ModeOrdered
	case ModeOrdered, ModeStrict, ModeAny:
	default:
		return nil, fmt.Errorf("mode %q: want ordered, strict or any", opts.Mode)
	}
	window := opts.Window
	if window == 0 {
		window = DefaultWindow
	}
	if window < 0 {
		return nil, fmt.Errorf("window %s is negative", window)
	}
	q.window = seconds(window)
	for i, s := range q.steps {
		if s.window > time.Duration(q.window)*time.Second {
			return nil, fmt.Errorf("steps: step %d (%q): per-step window %s is longer than the conversion window %s, which bounds step 1 to the last step", i+1, s.label, s.window, window)
		}
	}
	if q.mode == ModeAny && q.hasStepWindows() {
		return nil, fmt.Errorf("mode any: per-step windows: %w (the steps of mode any have no order, so no step before; use --window)", ErrNotSupported)
	}

	switch b := opts.Breakdown; {
	case b == "":
	case slices.Contains(Breakdowns, b):
		q.breakdown = b
	case strings.HasPrefix(b, "property:"):
		q.breakdown, q.property = "property", strings.TrimSpace(strings.TrimPrefix(b, "property:"))
		if q.property == "" {
			return nil, fmt.Errorf("breakdown %q: want property:NAME", b)
		}
	default:
		return nil, fmt.Errorf("breakdown %q: want one of %s or property:NAME", b, strings.Join(Breakdowns, ", "))
	}
	switch opts.Trend {
	case "", TrendDay, TrendWeek:
	default:
		return nil, fmt.Errorf("trend %q: want %s or %s", opts.Trend, TrendDay, TrendWeek)
	}
	if opts.Dropoff < 0 || (opts.Dropoff > 0 && opts.Dropoff >= len(q.steps)) {
		return nil, fmt.Errorf("dropoff %d: want a step from 1 to %d (the last step has no next step)", opts.Dropoff, len(q.steps)-1)
	}
	n := 0
	for _, set := range []bool{opts.Breakdown != "", opts.Trend != "", opts.Dropoff > 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("breakdown, trend and dropoff: one at a time")
	}
	for _, e := range opts.Exclude {
		if strings.TrimSpace(e) == "" {
			return nil, fmt.Errorf("exclude: empty event name")
		}
		if strings.ContainsAny(e, "[]|") || strings.HasPrefix(strings.TrimSpace(e), "page:") {
			return nil, fmt.Errorf("exclude %q: an exclusion step is an event name, without alternatives, filters or pages", e)
		}
	}
	return q, nil
}

// params are the query parameters of funnel.sql (and funnel_dropoff.sql),
// or in modes strict and any of funnel_modes.sql (and
// funnel_modes_dropoff.sql, which adds dropoff_step), for the breakdown
// (and its property).
func (q *funnelQuery) params(breakdown, property string) []any {
	labels := make([]string, len(q.steps))
	for i, s := range q.steps {
		labels[i] = s.label
	}
	exclude := make([]string, 0, len(q.opts.Exclude))
	for _, e := range q.opts.Exclude {
		exclude = append(exclude, strings.TrimSpace(e))
	}
	params := append(q.opts.rangeParams(), chgo.Named("window_seconds", q.window), chgo.Named("steps", labels),
		chgo.Named("step_window_ms", q.stepWindowMS()), chgo.Named("exclude", exclude))
	if q.mode != ModeOrdered {
		// funnel_modes.sql takes the steps as arrays of arrays.
		// The filtered alternatives are flat, tagged with their step.
		events, pages := make([][]string, len(q.steps)), make([][]string, len(q.steps))
		steps, names, keys, values := []uint64{}, []string{}, [][]string{}, [][]string{}
		for i, s := range q.steps {
			events[i], pages[i] = nonNil(s.events), nonNil(s.pages)
			for _, f := range s.filters {
				steps, names = append(steps, uint64(i+1)), append(names, f.name)
				keys, values = append(keys, f.keys), append(values, f.values)
			}
		}
		return append(params, chgo.Named("step_events", events), chgo.Named("step_pages", pages),
			chgo.Named("filter_steps", steps), chgo.Named("filter_events", names),
			chgo.Named("filter_keys", keys), chgo.Named("filter_values", values),
			chgo.Named("mode", q.mode),
			chgo.Named("breakdown", breakdown), chgo.Named("breakdown_property", property))
	}
	for i, s := range q.steps {
		n := strconv.Itoa(i)
		names, keys, values := []string{}, [][]string{}, [][]string{}
		for _, f := range s.filters {
			names, keys, values = append(names, f.name), append(keys, f.keys), append(values, f.values)
		}
		params = append(params,
			chgo.Named("step_"+n, nonNil(s.events)),
			chgo.Named("page_"+n, nonNil(s.pages)),
			chgo.Named("filter_events_"+n, names),
			chgo.Named("filter_keys_"+n, keys),
			chgo.Named("filter_values_"+n, values))
	}
	return append(params, chgo.Named("breakdown", breakdown), chgo.Named("breakdown_property", property))
}

// run runs the funnel for a breakdown ("" for none: one group) and
// returns its groups in the query's order.
func (q *funnelQuery) run(ctx context.Context, conn driver.Conn, breakdown, property string) ([]FunnelGroup, error) {
	var (
		query string
		err   error
	)
	if q.mode == ModeOrdered {
		query, err = q.variant(breakdown).render(len(q.steps))
	} else {
		query, err = q.modesSQL(breakdown)
	}
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, query, q.params(breakdown, property)...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	groups, err := readFunnelRows(rows, len(q.steps))
	if err != nil {
		return nil, err
	}
	if breakdown == "" && len(groups) != 1 {
		return nil, fmt.Errorf("query returned %d groups, want 1", len(groups))
	}
	if groups == nil {
		groups = []FunnelGroup{}
	}
	return groups, nil
}

// readFunnelRows reads the rows of funnel.sql or funnel_modes.sql (one per
// group and step, by value, then position) as groups of n steps each, and
// closes rows.
func readFunnelRows(rows driver.Rows, n int) ([]FunnelGroup, error) {
	defer rows.Close()
	var groups []FunnelGroup
	for rows.Next() {
		var (
			position uint64
			s        FunnelStep
			p90      float64
			value    string
		)
		if err := rows.Scan(&position, &s.Step, &s.Count, &s.ConversionFromStart,
			&s.ConversionFromPrevious, &s.MedianSecondsToConvert, &p90, &value); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		s.P90SecondsToConvert = &p90
		if position == 1 {
			groups = append(groups, FunnelGroup{Value: value, Steps: make([]FunnelStep, 0, n)})
		}
		if len(groups) == 0 || groups[len(groups)-1].Value != value {
			return nil, fmt.Errorf("query returned step %d of %q out of order", position, value)
		}
		g := &groups[len(groups)-1]
		g.Steps = append(g.Steps, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for _, g := range groups {
		if len(g.Steps) != n {
			return nil, fmt.Errorf("query returned %d steps for %q, want %d", len(g.Steps), g.Value, n)
		}
	}
	return groups, nil
}

// checkBy checks a report's --by against the units it can count
// (supported, ByVisitor first) and returns it with the default, ByVisitor,
// filled in. A unit the report cannot count is ErrNotSupported; anything
// else is not a unit at all.
func checkBy(by string, supported ...string) (string, error) {
	if by == "" {
		by = ByVisitor
	}
	if slices.Contains(supported, by) {
		return by, nil
	}
	if by == ByVisitor || by == ByPerson || by == BySession {
		return "", fmt.Errorf("by %s: %w (only %s)", by, ErrNotSupported, strings.Join(supported, " and "))
	}
	return "", fmt.Errorf("by %q: want %s, %s or %s", by, ByVisitor, ByPerson, BySession)
}

// funnelVariant says which optional parts funnel.sql is rendered with, so
// that a plain funnel pays for none of them: each is a template of the
// file that replaces a cheaper default.
type funnelVariant struct {
	// by: with ByPerson "unit", "visitor", "linked" and "events" are their
	// "person_" forms; with BySession "unit" and "unit_where" their
	// "session_" forms
	by string
	// ids: the query names its units (the drop-off lists), so with
	// ByVisitor "unit" is "id_unit", visitor_id, rather than the cheaper
	// visitor_key
	ids     bool
	pages   bool // "page_cond" is "pages_page_cond" (page steps)
	filters bool // "cond" is "filter_cond" (property filters; it matches page steps itself)
	// exclude: "row_excluded", "excluded", "exclude_where" and
	// "fast_excluded" are their "exclude_" forms
	exclude bool
	// stepWindows: "chains" and "step_gaps" are their "step_window_" forms
	stepWindows bool
	breakdown   bool // "row_value" and "first_value" are their "breakdown_" forms
	// filtered: every "filtered_" template takes the place of its plain
	// form (sqlfiles.Variant: the report filter, Options.Filter)
	filtered bool
}

// template returns funnel.sql with the variant's templates redefined.
func (v funnelVariant) template() (*template.Template, error) {
	t, err := funnelTemplate()
	if err != nil {
		return nil, err
	}
	var uses [][2]string
	use := func(name, as string) { uses = append(uses, [2]string{name, as}) }
	switch v.by {
	case ByPerson:
		use("unit", "person_unit")
		use("visitor", "person_visitor")
		use("linked", "person_linked")
		use("events", "person_events")
	case BySession:
		use("unit", "session_unit")
		use("unit_where", "session_unit_where")
	default:
		if v.ids {
			use("unit", "id_unit")
		}
	}
	if v.pages {
		use("page_cond", "pages_page_cond")
	}
	if v.filters {
		use("cond", "filter_cond")
	}
	if v.exclude {
		use("row_excluded", "exclude_row_excluded")
		use("excluded", "exclude_excluded")
		use("exclude_where", "exclude_exclude_where")
		use("fast_excluded", "exclude_fast_excluded")
	}
	if v.stepWindows {
		use("chains", "step_window_chains")
		use("step_gaps", "step_window_step_gaps")
	}
	if v.breakdown {
		use("row_value", "breakdown_row_value")
		use("first_value", "breakdown_first_value")
	}
	return sqlfiles.Variant(t, uses, v.filtered)
}

// render renders the variant of funnel.sql for n steps.
func (v funnelVariant) render(n int) (string, error) {
	t, err := v.template()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, struct{ Steps []struct{} }{make([]struct{}, n)}); err != nil {
		return "", fmt.Errorf("render funnel.sql: %w", err)
	}
	return b.String(), nil
}

// funnelSQLBy renders funnel.sql for n steps, counting by (ByVisitor,
// ByPerson or BySession), without page steps, filters, exclusions,
// per-step windows or breakdown.
func funnelSQLBy(n int, by string) (string, error) {
	return funnelVariant{by: by}.render(n)
}

// variant is the funnel.sql variant q needs for a breakdown.
func (q *funnelQuery) variant(breakdown string) funnelVariant {
	return funnelVariant{
		by:          q.by,
		pages:       slices.ContainsFunc(q.steps, func(s funnelStep) bool { return len(s.pages) > 0 }),
		filters:     slices.ContainsFunc(q.steps, func(s funnelStep) bool { return len(s.filters) > 0 }),
		exclude:     len(q.opts.Exclude) > 0,
		stepWindows: q.hasStepWindows(),
		breakdown:   breakdown != "" && breakdown != TrendDay && breakdown != TrendWeek,
		filtered:    !q.opts.Filter.IsZero(),
	}
}

// hasStepWindows reports whether a step has a per-step window.
func (q *funnelQuery) hasStepWindows() bool {
	return slices.ContainsFunc(q.steps, func(s funnelStep) bool { return s.window > 0 })
}

// stepWindowMS is the step_window_ms parameter: each step's per-step
// window in milliseconds, the conversion window for a step without one.
func (q *funnelQuery) stepWindowMS() []int64 {
	out := make([]int64, len(q.steps))
	for i, s := range q.steps {
		out[i] = int64(q.window) * 1000
		if s.window > 0 {
			out[i] = s.window.Milliseconds()
		}
	}
	return out
}
