package webhook

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// path is a compiled JSONPath-lite expression: $ (the item itself), then
// .name, ['name'] or ["name"] (an object key), [n] (an array index; [-1] is
// the last element) and, in events_path only, [*] (every element).
type path struct {
	text  string
	steps []step
}

// step is one segment of a path.
type step struct {
	key      string // object key, when index and all are unset
	index    int    // array index, when isIndex
	isIndex  bool
	wildcard bool // [*]
}

// parsePath compiles s. The leading $ may be left out ("user.id" is
// "$.user.id"). wildcard allows [*].
func parsePath(s string, wildcard bool) (path, error) {
	p := path{text: s}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return p, errors.New("path is empty")
	}
	switch {
	case strings.HasPrefix(rest, "$"):
		rest = rest[1:]
	case rest[0] != '.' && rest[0] != '[':
		rest = "." + rest
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return p, fmt.Errorf("%q: empty key", s)
			}
			p.steps = append(p.steps, step{key: rest[:end]})
			rest = rest[end:]
		case '[':
			st, n, err := parseBracket(rest)
			if err != nil {
				return p, fmt.Errorf("%q: %w", s, err)
			}
			if st.wildcard && !wildcard {
				return p, fmt.Errorf("%q: [*] is only allowed in events_path", s)
			}
			p.steps = append(p.steps, st)
			rest = rest[n:]
		default:
			return p, fmt.Errorf("%q: unexpected %q (want . or [)", s, rest[0])
		}
	}
	return p, nil
}

// parseBracket reads one [...] segment at the start of s and returns it
// with its length.
func parseBracket(s string) (step, int, error) {
	if len(s) >= 2 && (s[1] == '\'' || s[1] == '"') {
		q := s[1]
		end := strings.IndexByte(s[2:], q)
		if end < 0 || len(s) < end+4 || s[2+end+1] != ']' {
			return step{}, 0, errors.New("unterminated quoted key")
		}
		key := s[2 : 2+end]
		if key == "" {
			return step{}, 0, errors.New("empty key")
		}
		return step{key: key}, end + 4, nil
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return step{}, 0, errors.New("missing ]")
	}
	inner := strings.TrimSpace(s[1:end])
	if inner == "*" {
		return step{wildcard: true}, end + 1, nil
	}
	n, err := strconv.Atoi(inner)
	if err != nil {
		return step{}, 0, fmt.Errorf("[%s]: want an index, * or a quoted key", inner)
	}
	return step{index: n, isIndex: true}, end + 1, nil
}

// String returns the path as written.
func (p path) String() string { return p.text }

// get returns the value at p in v (decoded JSON). found is false when a key
// or index is missing, a step meets a value of the wrong kind, or the value
// is null. p must not hold a wildcard.
func (p path) get(v any) (any, bool) {
	for _, st := range p.steps {
		var ok bool
		if v, ok = st.apply(v); !ok {
			return nil, false
		}
	}
	return v, v != nil
}

// apply takes one non-wildcard step.
func (st step) apply(v any) (any, bool) {
	if st.isIndex {
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		i := st.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	x, ok := o[st.key]
	return x, ok
}

// all returns every value p selects in v, expanding [*] over arrays, in
// document order. Missing and null values are left out.
func (p path) all(v any) []any {
	cur := []any{v}
	for _, st := range p.steps {
		var next []any
		for _, c := range cur {
			if st.wildcard {
				if a, ok := c.([]any); ok {
					next = append(next, a...)
				}
				continue
			}
			if x, ok := st.apply(c); ok {
				next = append(next, x)
			}
		}
		cur = next
	}
	out := cur[:0]
	for _, c := range cur {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// hasWildcard reports whether p holds [*].
func (p path) hasWildcard() bool {
	for _, st := range p.steps {
		if st.wildcard {
			return true
		}
	}
	return false
}
