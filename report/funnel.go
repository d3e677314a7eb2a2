package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"text/template"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// What a funnel counts (`touchstream report funnel --by`).
const (
	ByVisitor = "visitor" // the default: visitor ids (devices, browsers)
	ByPerson  = "person"  // persons: visitors linked to one user id count once
)

// FunnelReport is the answer of `touchstream report funnel`.
type FunnelReport struct {
	Steps []FunnelStep `json:"steps"`
	by    string       // ByVisitor or ByPerson, for the display header
}

// FunnelStep is one step of a funnel; sql/queries/funnel.sql defines each
// number.
type FunnelStep struct {
	// Step is the step as given ("A", or "A|B").
	Step string `json:"step"`
	// Count is the number of visitors (persons with ByPerson) who reached
	// the step.
	Count uint64 `json:"count"`
	// ConversionFromStart is Count / the first step's Count.
	ConversionFromStart float64 `json:"conversion_from_start"`
	// ConversionFromPrevious is Count / the previous step's Count.
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
	// MedianSecondsToConvert is the median time from step 1 to this step.
	MedianSecondsToConvert float64 `json:"median_seconds_to_convert"`
}

// Kind is KindFunnel.
func (*FunnelReport) Kind() string { return KindFunnel }

// Funnel runs sql/queries/funnel.sql counting visitors: opts.From, To,
// Site, Steps, Window and Mode.
func Funnel(ctx context.Context, conn driver.Conn, opts Options) (*FunnelReport, error) {
	return FunnelBy(ctx, conn, opts, ByVisitor)
}

// FunnelBy is Funnel counting by: ByVisitor (or "") or ByPerson, where a
// person is the user id a visitor is linked to in the identities table
// (the persons view), else the visitor.
func FunnelBy(ctx context.Context, conn driver.Conn, opts Options, by string) (*FunnelReport, error) {
	by, err := checkBy(by)
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	steps, err := parseSteps(opts.Steps)
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	mode := opts.Mode
	switch mode {
	case "":
		mode = ModeOrdered
	case ModeOrdered, ModeStrict, ModeAny:
	default:
		return nil, fmt.Errorf("funnel: mode %q: want ordered, strict or any", opts.Mode)
	}
	window := opts.Window
	if window == 0 {
		window = DefaultWindow
	}
	if window < 0 {
		return nil, fmt.Errorf("funnel: window %s is negative", window)
	}

	labels := make([]string, len(steps))
	params := append(opts.rangeParams(), chgo.Named("window_seconds", seconds(window)))
	var query string
	if mode == ModeOrdered {
		if query, err = funnelSQLBy(len(steps), by); err != nil {
			return nil, fmt.Errorf("funnel: %w", err)
		}
		for i, s := range steps {
			params = append(params,
				chgo.Named("step_"+strconv.Itoa(i), nonNil(s.events)),
				chgo.Named("page_"+strconv.Itoa(i), nonNil(s.pages)))
		}
	} else {
		// funnel_modes.sql takes the steps as arrays of arrays.
		if query, err = querySQL("funnel_modes"); err != nil {
			return nil, fmt.Errorf("funnel: %w", err)
		}
		events, pages := make([][]string, len(steps)), make([][]string, len(steps))
		for i, s := range steps {
			events[i], pages[i] = nonNil(s.events), nonNil(s.pages)
		}
		params = append(params, chgo.Named("step_events", events), chgo.Named("step_pages", pages),
			chgo.Named("mode", mode), chgo.Named("by", by))
	}
	for i, s := range steps {
		labels[i] = s.label
	}
	params = append(params, chgo.Named("steps", labels))

	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("funnel: query: %w", err)
	}
	defer rows.Close()
	r := &FunnelReport{Steps: make([]FunnelStep, 0, len(steps)), by: by}
	for rows.Next() {
		var (
			position uint64
			s        FunnelStep
		)
		if err := rows.Scan(&position, &s.Step, &s.Count, &s.ConversionFromStart,
			&s.ConversionFromPrevious, &s.MedianSecondsToConvert); err != nil {
			return nil, fmt.Errorf("funnel: scan: %w", err)
		}
		r.Steps = append(r.Steps, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("funnel: query: %w", err)
	}
	if len(r.Steps) != len(steps) {
		return nil, fmt.Errorf("funnel: query returned %d steps, want %d", len(r.Steps), len(steps))
	}
	return r, nil
}

// checkBy checks a funnel's --by and returns it with the default filled in.
func checkBy(by string) (string, error) {
	switch by {
	case "", ByVisitor:
		return ByVisitor, nil
	case ByPerson:
		return ByPerson, nil
	case "session":
		return "", fmt.Errorf("by %s: %w (only %s and %s)", by, ErrNotSupported, ByVisitor, ByPerson)
	}
	return "", fmt.Errorf("by %q: want %s or %s", by, ByVisitor, ByPerson)
}

// funnelPersonTemplate is funnel.sql counting persons: its "unit" and
// "events" templates redefined as its "person_unit" and "person_events".
var funnelPersonTemplate = sync.OnceValues(func() (*template.Template, error) {
	t, err := funnelTemplate()
	if err != nil {
		return nil, err
	}
	if t, err = t.Clone(); err != nil {
		return nil, fmt.Errorf("clone funnel.sql: %w", err)
	}
	if _, err := t.Parse(`{{define "unit"}}{{template "person_unit"}}{{end}}` +
		`{{define "events"}}{{template "person_events"}}{{end}}`); err != nil {
		return nil, fmt.Errorf("parse funnel.sql by person: %w", err)
	}
	return t, nil
})

// funnelSQLBy renders funnel.sql for n steps, counting by (ByVisitor or
// ByPerson).
func funnelSQLBy(n int, by string) (string, error) {
	if by != ByPerson {
		return funnelSQL(n)
	}
	t, err := funnelPersonTemplate()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, struct{ Steps []struct{} }{make([]struct{}, n)}); err != nil {
		return "", fmt.Errorf("render funnel.sql: %w", err)
	}
	return b.String(), nil
}

// funnelStep is one parsed step.
type funnelStep struct {
	label  string   // as given, trimmed
	events []string // event names any of which is the step
	pages  []string // LIKE patterns of page paths any of whose page views is the step
}

// parseSteps parses the steps: "A" or alternatives "A|B", each name trimmed;
// an alternative "page:/path/*" is a page or screen view whose page_path
// matches (* is any characters).
func parseSteps(steps []string) ([]funnelStep, error) {
	if len(steps) == 0 {
		return nil, fmt.Errorf("steps: at least one step is required")
	}
	if len(steps) > maxSteps {
		return nil, fmt.Errorf("steps: %d steps, at most %d", len(steps), maxSteps)
	}
	out := make([]funnelStep, len(steps))
	for i, s := range steps {
		s = strings.TrimSpace(s)
		var events, pages []string
		for _, name := range strings.Split(s, "|") {
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, fmt.Errorf("steps: step %d (%q): empty event name", i+1, s)
			}
			if pattern, ok := strings.CutPrefix(name, "page:"); ok {
				pattern = strings.TrimSpace(pattern)
				if !strings.HasPrefix(pattern, "/") {
					return nil, fmt.Errorf("steps: step %d (%q): a page step is page:/path, with * for any characters", i+1, s)
				}
				pages = append(pages, likePattern(pattern))
				continue
			}
			events = append(events, name)
		}
		out[i] = funnelStep{label: s, events: events, pages: pages}
	}
	return out, nil
}

// likePattern turns a page-step pattern (/products/*) into a LIKE pattern
// (/products/%): * matches any characters, / included; LIKE's own % and _
// match themselves.
func likePattern(p string) string {
	r := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`, "*", "%")
	return r.Replace(p)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SplitSteps splits the --steps flag ("A,B|C,D") into steps.
func SplitSteps(flag string) []string {
	if strings.TrimSpace(flag) == "" {
		return nil
	}
	return strings.Split(flag, ",")
}

func (r *FunnelReport) records() [][]string {
	out := [][]string{{"step", "count", "conversion_from_start", "conversion_from_previous", "median_seconds_to_convert"}}
	for _, s := range r.Steps {
		out = append(out, []string{s.Step, formatUint(s.Count), formatFloat(s.ConversionFromStart),
			formatFloat(s.ConversionFromPrevious), formatFloat(s.MedianSecondsToConvert)})
	}
	return out
}

func (r *FunnelReport) display() []table {
	unit := "VISITORS"
	if r.by == ByPerson {
		unit = "PERSONS"
	}
	out := table{{"#", "STEP", unit, "FROM START", "FROM PREVIOUS", "MEDIAN TIME"}}
	for i, s := range r.Steps {
		out = append(out, []string{strconv.Itoa(i + 1), s.Step, formatUint(s.Count), formatPercent(s.ConversionFromStart),
			formatPercent(s.ConversionFromPrevious), formatSeconds(s.MedianSecondsToConvert)})
	}
	return []table{out}
}
