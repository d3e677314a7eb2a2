package stage

import (
	"encoding/json"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/touchstream/touchstream/pipeline"
)

// rule is one compiled rule. Every condition that is set must hold; a list
// holds when any of its values does.
type rule struct {
	name  string
	stage string // "" for "none"

	requiresPurchase bool
	landing          int8 // 0: any, 1: must be a landing, -1: must not be

	types       []string
	names       []string
	prefixes    []string
	touchpoints []string
	channels    []string
	mediums     []string // lower case
	paths       []glob
	props       []propCond
}

// hasCondition reports whether the rule looks at the event at all.
func (r *rule) hasCondition() bool {
	return r.requiresPurchase || r.landing != 0 || len(r.types) > 0 || len(r.names) > 0 ||
		len(r.prefixes) > 0 || len(r.touchpoints) > 0 || len(r.channels) > 0 ||
		len(r.mediums) > 0 || len(r.paths) > 0 || len(r.props) > 0
}

func (r *rule) matches(v *eventView, purchasedBefore bool) bool {
	e := v.e
	if r.requiresPurchase && !purchasedBefore {
		return false
	}
	if len(r.types) > 0 && !slices.Contains(r.types, e.Type) {
		return false
	}
	if len(r.names) > 0 || len(r.prefixes) > 0 {
		// event_name and event_name_prefix together: either may match.
		if !slices.Contains(r.names, e.EventName) && !hasAnyPrefix(e.EventName, r.prefixes) {
			return false
		}
	}
	if len(r.touchpoints) > 0 && !slices.Contains(r.touchpoints, e.Touchpoint) {
		return false
	}
	if len(r.channels) > 0 && !slices.Contains(r.channels, e.Channel) {
		return false
	}
	if len(r.mediums) > 0 && !containsFold(r.mediums, strings.TrimSpace(e.UTMMedium)) {
		return false
	}
	if r.landing != 0 && v.isLanding() != (r.landing > 0) {
		return false
	}
	if len(r.paths) > 0 {
		segs, hasPath := v.pathSegments()
		if !hasPath {
			return false
		}
		ok := false
		for _, g := range r.paths {
			if g.match(segs) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, c := range r.props {
		if !c.match(v.properties()) {
			return false
		}
	}
	return true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// glob is a page_path pattern split into segments: "**" matches any number
// of whole segments (none included), any other segment is a path.Match
// pattern for one segment.
type glob []string

func (g glob) match(segs []string) bool {
	if len(g) == 0 {
		return len(segs) == 0
	}
	if g[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if g[1:].match(segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := path.Match(g[0], segs[0]); !ok {
		return false
	}
	return g[1:].match(segs[1:])
}

// eventPath is the event's page path: PagePath, else the path of PageURL;
// "" when it has neither.
func eventPath(e *pipeline.Event) string {
	if p := strings.TrimSpace(e.PagePath); p != "" {
		return p
	}
	u := strings.TrimSpace(e.PageURL)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		j := strings.IndexAny(u, "/?#")
		if j < 0 || u[j] != '/' {
			return "/"
		}
		u = u[j:]
	}
	return u
}

// normalizePath lower-cases p, drops its query and fragment, gives it a
// leading "/" and drops a trailing one ("/Blog/" is "/blog").
func normalizePath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.ToLower(strings.TrimSpace(p))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	for len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	return p
}

// splitPath splits a normalized path into segments; "/" has none.
func splitPath(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// propCond is one "properties" condition: the property at key equals one
// of values.
type propCond struct {
	key    string
	values []any // string, float64, bool or nil
}

func (c *propCond) match(props map[string]any) bool {
	v, ok := lookup(props, c.key)
	for _, want := range c.values {
		if want == nil {
			if !ok || v == nil {
				return true
			}
			continue
		}
		if ok && equal(v, want) {
			return true
		}
	}
	return false
}

// lookup finds key in props: the key itself, else a dotted path into nested
// objects ("plan.tier").
func lookup(props map[string]any, key string) (any, bool) {
	if props == nil {
		return nil, false
	}
	if v, ok := props[key]; ok {
		return v, true
	}
	cur := props
	parts := strings.Split(key, ".")
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return nil, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		if cur, ok = v.(map[string]any); !ok {
			return nil, false
		}
	}
	return nil, false
}

// equal compares an event's property value (decoded with UseNumber) with a
// rule's value. Numbers compare by value, also when one side is a string
// holding a number ("9" equals 9).
func equal(got, want any) bool {
	switch w := want.(type) {
	case bool:
		b, ok := got.(bool)
		return ok && b == w
	case float64:
		f, ok := number(got)
		return ok && f == w
	case string:
		switch g := got.(type) {
		case string:
			return g == w
		case json.Number:
			f, ok := number(g)
			wf, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
			return ok && err == nil && f == wf
		}
	}
	return false
}

func number(v any) (float64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
