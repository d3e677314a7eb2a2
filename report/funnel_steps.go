package report

import (
	"fmt"
	"strings"
	"time"
)

// funnelStep is one parsed step.
type funnelStep struct {
	label   string       // as given, trimmed
	events  []string     // event names any of which is the step
	pages   []string     // LIKE patterns of page paths any of whose page views is the step
	filters []stepFilter // event names with property filters, any of which is the step
	// window is the step's per-step window ("A within 10m"): the most
	// time from the step before to this one; 0 for none.
	window time.Duration
}

// withinSep introduces a step's per-step window: "Order Completed within 1h".
const withinSep = " within "

// stepFilter is an alternative "Name[k=v][k2=v2]": an event named name
// whose properties keys[i] equal values[i].
type stepFilter struct {
	name         string
	keys, values []string
}

// parseSteps parses the steps: "A" or alternatives "A|B", each name trimmed;
// an alternative "page:/path/*" is a page or screen view whose page_path
// matches (* is any characters); "A[k=v]" is an event A whose top-level
// property k equals v (more filters: "A[k=v][k2=v2]", all must hold).
// A step from the second on may end in " within DURATION" (10m, 1h30m,
// 2d; whole milliseconds, more than 0): its per-step window, the most
// time from the previous step's event to this step's, for the whole step
// ("A|B within 10m"). The last " within " outside property filters
// starts it, so an event name cannot end in " within ..." itself.
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
		step := funnelStep{label: s}
		s, window, err := cutWindow(s)
		if err != nil {
			return nil, fmt.Errorf("steps: step %d (%q): %w", i+1, step.label, err)
		}
		if window > 0 && i == 0 {
			return nil, fmt.Errorf("steps: step 1 (%q): a per-step window bounds the time from the previous step; step 1 has none (--window bounds the whole funnel)", step.label)
		}
		step.window = window
		alts, err := splitOutside(s, '|')
		if err != nil {
			return nil, fmt.Errorf("steps: step %d (%q): %w", i+1, step.label, err)
		}
		for _, name := range alts {
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, fmt.Errorf("steps: step %d (%q): empty event name", i+1, step.label)
			}
			if pattern, ok := strings.CutPrefix(name, "page:"); ok {
				pattern = strings.TrimSpace(pattern)
				if !strings.HasPrefix(pattern, "/") {
					return nil, fmt.Errorf("steps: step %d (%q): a page step is page:/path, with * for any characters", i+1, step.label)
				}
				if strings.ContainsAny(pattern, "[]") {
					return nil, fmt.Errorf("steps: step %d (%q): a page step takes no property filter", i+1, step.label)
				}
				step.pages = append(step.pages, likePattern(pattern))
				continue
			}
			f, err := parseFilter(name)
			if err != nil {
				return nil, fmt.Errorf("steps: step %d (%q): %w", i+1, step.label, err)
			}
			if f.keys == nil {
				step.events = append(step.events, f.name)
			} else {
				step.filters = append(step.filters, f)
			}
		}
		out[i] = step
	}
	return out, nil
}

// cutWindow cuts a step's per-step window off s: "A within 10m" is "A"
// and 10 minutes; s without " within " (outside [...]) is itself and 0.
func cutWindow(s string) (string, time.Duration, error) {
	at := -1
	err := eachOutside(s, func(i int) {
		if strings.HasPrefix(s[i:], withinSep) {
			at = i
		}
	})
	if err != nil {
		return "", 0, err
	}
	if at < 0 {
		return s, 0, nil
	}
	text := strings.TrimSpace(s[at+len(withinSep):])
	d, err := ParseDuration(text)
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("per-step window %q: want a duration such as 30s, 10m, 1h30m or 2d after \"within\"", text)
	case d <= 0:
		return "", 0, fmt.Errorf("per-step window %q: want more than 0", text)
	case d%time.Millisecond != 0:
		return "", 0, fmt.Errorf("per-step window %q: want whole milliseconds (event times are milliseconds)", text)
	}
	name := strings.TrimSpace(s[:at])
	if name == "" {
		return "", 0, fmt.Errorf("no event before \"within\"")
	}
	return name, d, nil
}

// parseFilter parses one event alternative: "Name" or "Name[k=v][k2=v2]".
// Inside the brackets, the key is everything before the first '=', trimmed;
// the value everything after it, as written (not trimmed).
func parseFilter(s string) (stepFilter, error) {
	open := strings.IndexByte(s, '[')
	if open < 0 {
		if strings.IndexByte(s, ']') >= 0 {
			return stepFilter{}, fmt.Errorf("%q: ']' without '['", s)
		}
		return stepFilter{name: s}, nil
	}
	f := stepFilter{name: strings.TrimSpace(s[:open]), keys: []string{}, values: []string{}}
	if f.name == "" {
		return f, fmt.Errorf("%q: a property filter needs an event name before '['", s)
	}
	rest := s[open:]
	for rest != "" {
		if rest[0] != '[' {
			return f, fmt.Errorf("%q: unexpected %q after a property filter; want [property=value]", s, rest)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return f, fmt.Errorf("%q: property filter not closed with ']'", s)
		}
		inner := rest[1:end]
		key, value, ok := strings.Cut(inner, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(inner, "[") {
			return f, fmt.Errorf("%q: property filter [%s]: want [property=value]", s, inner)
		}
		f.keys, f.values = append(f.keys, key), append(f.values, value)
		rest = strings.TrimSpace(rest[end+1:])
	}
	return f, nil
}

// splitOutside splits s at sep, except inside [...].
func splitOutside(s string, sep byte) ([]string, error) {
	var out []string
	start := 0
	err := eachOutside(s, func(i int) {
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	})
	if err != nil {
		return nil, err
	}
	return append(out, s[start:]), nil
}

// eachOutside calls f with the index of each byte of s outside [...] (the
// brackets themselves excluded), in order, and reports brackets that do
// not pair up.
func eachOutside(s string, f func(i int)) error {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth < 0 {
				return fmt.Errorf("']' without '['")
			}
		default:
			if depth == 0 {
				f(i)
			}
		}
	}
	if depth != 0 {
		return fmt.Errorf("property filter not closed with ']'")
	}
	return nil
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

// SplitSteps splits the --steps flag ("A,B|C,D[k=v]") into steps: at
// commas outside property filters, so a filter value may hold a comma.
func SplitSteps(flag string) []string {
	if strings.TrimSpace(flag) == "" {
		return nil
	}
	out, err := splitOutside(flag, ',')
	if err != nil {
		// Unbalanced brackets: split plainly; parseSteps reports the error.
		return strings.Split(flag, ",")
	}
	return out
}

// SplitList splits a comma-separated flag (--exclude "A,B") into trimmed,
// non-empty names.
func SplitList(flag string) []string {
	var out []string
	for _, s := range strings.Split(flag, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
