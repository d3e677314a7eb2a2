package report

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// MarshalJSON prints the contract of DESIGN.md section 3 ("steps"), plus
// "breakdown_by" and "breakdown", "trend_by" and "trend", or "dropoff"
// when the report has them (an empty list when asked for and empty).
func (r FunnelReport) MarshalJSON() ([]byte, error) {
	type out struct {
		Steps       []FunnelStep    `json:"steps"`
		BreakdownBy string          `json:"breakdown_by,omitempty"`
		Breakdown   *[]FunnelGroup  `json:"breakdown,omitempty"`
		TrendBy     string          `json:"trend_by,omitempty"`
		Trend       *[]FunnelPeriod `json:"trend,omitempty"`
		Dropoff     *FunnelDropoff  `json:"dropoff,omitempty"`
	}
	o := out{Steps: r.Steps, BreakdownBy: r.BreakdownBy, TrendBy: r.TrendBy, Dropoff: r.Dropoff}
	if r.BreakdownBy != "" {
		b := r.Breakdown
		if b == nil {
			b = []FunnelGroup{}
		}
		o.Breakdown = &b
	}
	if r.TrendBy != "" {
		t := r.Trend
		if t == nil {
			t = []FunnelPeriod{}
		}
		o.Trend = &t
	}
	return json.Marshal(o)
}

// hasP90 reports whether the steps carry the p90 time (reports the query
// computed always do).
func hasP90(steps []FunnelStep) bool { return len(steps) > 0 && steps[0].P90SecondsToConvert != nil }

// stepRecord is a step's CSV cells.
func stepRecord(s FunnelStep, p90 bool) []string {
	out := []string{s.Step, formatUint(s.Count), formatFloat(s.ConversionFromStart),
		formatFloat(s.ConversionFromPrevious), formatFloat(s.MedianSecondsToConvert)}
	if p90 && s.P90SecondsToConvert != nil {
		out = append(out, formatFloat(*s.P90SecondsToConvert))
	}
	return out
}

// records are the CSV: the drop-off list (for remarketing) with a
// dropoff, the steps per group with a breakdown or trend (the group
// first), else the steps.
func (r *FunnelReport) records() [][]string {
	if d := r.Dropoff; d != nil {
		at := func(v DroppedVisitor) string { return v.StepTime.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
		var out [][]string
		switch r.by {
		case ByPerson:
			out = [][]string{{"person_id", "user_id", "visitor_ids", "visitor_id", "step_time", "channel"}}
			for _, v := range d.Visitors {
				out = append(out, []string{v.PersonID, v.UserID, strings.Join(v.VisitorIDs, " "), v.VisitorID, at(v), v.Channel})
			}
		case BySession:
			out = [][]string{{"session_id", "visitor_id", "user_id", "step_time", "channel"}}
			for _, v := range d.Visitors {
				out = append(out, []string{v.SessionID, v.VisitorID, v.UserID, at(v), v.Channel})
			}
		default:
			out = [][]string{{"visitor_id", "user_id", "step_time", "channel"}}
			for _, v := range d.Visitors {
				out = append(out, []string{v.VisitorID, v.UserID, at(v), v.Channel})
			}
		}
		return out
	}
	p90 := hasP90(r.Steps)
	header := []string{"step", "count", "conversion_from_start", "conversion_from_previous", "median_seconds_to_convert"}
	if p90 {
		header = append(header, "p90_seconds_to_convert")
	}
	var groups []FunnelGroup
	switch {
	case r.BreakdownBy != "":
		header = append([]string{"breakdown"}, header...)
		groups = r.Breakdown
	case r.TrendBy != "":
		header = append([]string{"period"}, header...)
		for _, p := range r.Trend {
			groups = append(groups, FunnelGroup{Value: p.Period, Steps: p.Steps})
		}
	default:
		out := [][]string{header}
		for _, s := range r.Steps {
			out = append(out, stepRecord(s, p90))
		}
		return out
	}
	out := [][]string{header}
	for _, g := range groups {
		for _, s := range g.Steps {
			out = append(out, append([]string{g.Value}, stepRecord(s, p90)...))
		}
	}
	return out
}

func (r *FunnelReport) display() []table {
	unit := "VISITORS"
	switch r.by {
	case ByPerson:
		unit = "PERSONS"
	case BySession:
		unit = "SESSIONS"
	}
	p90 := hasP90(r.Steps)
	header := []string{"#", "STEP", unit, "FROM START", "FROM PREVIOUS", "MEDIAN TIME"}
	if p90 {
		header = append(header, "P90 TIME")
	}
	row := func(i int, s FunnelStep) []string {
		out := []string{strconv.Itoa(i + 1), s.Step, formatUint(s.Count), formatPercent(s.ConversionFromStart),
			formatPercent(s.ConversionFromPrevious), formatSeconds(s.MedianSecondsToConvert)}
		if p90 && s.P90SecondsToConvert != nil {
			out = append(out, formatSeconds(*s.P90SecondsToConvert))
		}
		return out
	}
	main := table{header}
	for i, s := range r.Steps {
		main = append(main, row(i, s))
	}
	tables := []table{main}

	if r.BreakdownBy != "" {
		t := table{append([]string{strings.ToUpper(r.BreakdownBy)}, header...)}
		for _, g := range r.Breakdown {
			value := g.Value
			if value == "" {
				value = "(not set)"
			}
			for i, s := range g.Steps {
				t = append(t, append([]string{value}, row(i, s)...))
			}
		}
		tables = append(tables, t)
	}
	if r.TrendBy != "" {
		h := []string{strings.ToUpper(r.TrendBy)}
		for _, s := range r.Steps {
			h = append(h, s.Step)
		}
		t := table{append(h, "CONVERSION")}
		for _, p := range r.Trend {
			cells := []string{p.Period}
			for _, s := range p.Steps {
				cells = append(cells, formatUint(s.Count))
			}
			t = append(t, append(cells, formatPercent(p.Conversion)))
		}
		tables = append(tables, t)
	}
	if d := r.Dropoff; d != nil {
		t := table{{"VISITOR", "USER", "AT STEP " + strconv.Itoa(d.Step), "CHANNEL"}}
		switch r.by {
		case ByPerson:
			t[0] = append([]string{"PERSON"}, append(t[0], "VISITORS")...)
		case BySession:
			t[0] = append([]string{"SESSION"}, t[0]...)
		}
		for _, v := range d.Visitors {
			cells := []string{v.VisitorID, v.UserID, v.StepTime.UTC().Format(time.DateTime), v.Channel}
			switch r.by {
			case ByPerson:
				cells = append([]string{v.PersonID}, append(cells, strings.Join(v.VisitorIDs, " "))...)
			case BySession:
				cells = append([]string{v.SessionID}, cells...)
			}
			t = append(t, cells)
		}
		next := table{{"NEXT EVENT", unit}}
		for _, e := range d.NextEvents {
			next = append(next, []string{e.Event, formatUint(e.Visitors)})
		}
		tables = append(tables, t, next)
	}
	return tables
}
