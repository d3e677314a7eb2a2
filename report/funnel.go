package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// FunnelReport is the answer of `touchstream report funnel`.
type FunnelReport struct {
	Steps []FunnelStep `json:"steps"`
}

// FunnelStep is one step of a funnel; sql/queries/funnel.sql defines each
// number.
type FunnelStep struct {
	// Step is the step as given ("A", or "A|B").
	Step string `json:"step"`
	// Count is the number of visitors who reached the step.
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

// Funnel runs sql/queries/funnel.sql: opts.From, To, Site, Steps, Window
// and Mode.
func Funnel(ctx context.Context, conn driver.Conn, opts Options) (*FunnelReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	steps, err := parseSteps(opts.Steps)
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	switch opts.Mode {
	case "", ModeOrdered:
	case "strict", "any":
		return nil, fmt.Errorf("funnel: mode %s: %w (only %s)", opts.Mode, ErrNotSupported, ModeOrdered)
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

	query, err := funnelSQL(len(steps))
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	labels := make([]string, len(steps))
	params := append(opts.rangeParams(), chgo.Named("window_seconds", seconds(window)))
	for i, s := range steps {
		labels[i] = s.label
		params = append(params, chgo.Named("step_"+strconv.Itoa(i), s.events))
	}
	params = append(params, chgo.Named("steps", labels))

	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("funnel: query: %w", err)
	}
	defer rows.Close()
	r := &FunnelReport{Steps: make([]FunnelStep, 0, len(steps))}
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

// funnelStep is one parsed step.
type funnelStep struct {
	label  string   // as given, trimmed
	events []string // event names any of which is the step
}

// parseSteps parses the steps: "A" or alternatives "A|B", each name trimmed.
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
		var events []string
		for _, name := range strings.Split(s, "|") {
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, fmt.Errorf("steps: step %d (%q): empty event name", i+1, s)
			}
			if strings.HasPrefix(name, "page:") {
				return nil, fmt.Errorf("steps: step %d (%q): page-path steps: %w", i+1, s, ErrNotSupported)
			}
			events = append(events, name)
		}
		out[i] = funnelStep{label: s, events: events}
	}
	return out, nil
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
	out := table{{"#", "STEP", "VISITORS", "FROM START", "FROM PREVIOUS", "MEDIAN TIME"}}
	for i, s := range r.Steps {
		out = append(out, []string{strconv.Itoa(i + 1), s.Step, formatUint(s.Count), formatPercent(s.ConversionFromStart),
			formatPercent(s.ConversionFromPrevious), formatSeconds(s.MedianSecondsToConvert)})
	}
	return []table{out}
}
