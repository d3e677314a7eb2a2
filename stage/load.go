package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/touchstream/touchstream/channel"
	"github.com/touchstream/touchstream/pipeline"
)

// MaxFileBytes is the largest rule file Load reads.
const MaxFileBytes = 1 << 20

// RuleError is a problem with one rule of a rule file; Load returns it
// (wrapped) for any fault that belongs to a rule.
type RuleError struct {
	Index int    // the rule's position in "rules", from 0
	Name  string // the rule's "name", "" when it has none
	Field string // the field at fault ("event_name", "properties.score"), "" for the rule as a whole
	Err   error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rules[%d]", e.Index)
	if e.Name != "" {
		fmt.Fprintf(&b, " (%q)", e.Name)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// Fields of a rule, in the order Load checks them.
var ruleFields = []string{
	"name", "description", "stage", "requires_purchase", "type", "event_name",
	"event_name_prefix", "page_path", "touchpoint", "channel", "utm_medium",
	"landing", "properties",
}

var (
	validTypes = []string{
		pipeline.TypeTrack, pipeline.TypePage, pipeline.TypeScreen,
		pipeline.TypeIdentify, pipeline.TypeGroup, pipeline.TypeAlias,
	}
	validTouchpoints = []string{
		pipeline.TouchpointWeb, pipeline.TouchpointApp, pipeline.TouchpointSocial,
		pipeline.TouchpointChat, pipeline.TouchpointEmail, pipeline.TouchpointSMS,
		pipeline.TouchpointServer,
	}
)

// Load reads a rule file (JSON; the language is described in the package
// doc) and checks all of it. An error names the rule (its index in "rules"
// and its name) and the field at fault, or the line and column of a JSON
// syntax error.
func Load(r io.Reader) (*Rules, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read stage rules: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("stage rules: larger than %d bytes", MaxFileBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("stage rules: %w", jsonError(data, err))
	}
	if top == nil {
		return nil, errors.New(`stage rules: want a JSON object with a "rules" list`)
	}
	for _, k := range sortedKeys(top) {
		if k != "rules" && k != "description" {
			return nil, fmt.Errorf(`stage rules: unknown field %q (want "rules" and optionally "description")`, k)
		}
	}
	if d, ok := top["description"]; ok {
		if _, err := stringValue(d); err != nil {
			return nil, fmt.Errorf("stage rules: description: %w", err)
		}
	}
	raw, ok := top["rules"]
	if !ok {
		return nil, errors.New(`stage rules: rules: required (a list of rules)`)
	}
	var list []json.RawMessage
	if kind(raw) != "a list" || json.Unmarshal(raw, &list) != nil {
		return nil, fmt.Errorf("stage rules: rules: must be a list of rules, not %s", kind(raw))
	}
	rs := &Rules{rules: make([]rule, 0, len(list))}
	for i, item := range list {
		ru, err := compileRule(i, item)
		if err != nil {
			return nil, fmt.Errorf("stage rules: %w", err)
		}
		rs.rules = append(rs.rules, ru)
	}
	for i := range rs.rules {
		if !rs.rules[i].hasCondition() && i < len(rs.rules)-1 {
			return nil, fmt.Errorf("stage rules: %w", &RuleError{
				Index: i, Name: rs.rules[i].name,
				Err: fmt.Errorf("has no condition, so it matches every event and rules[%d] and later can never match; add a condition or make it the last rule", i+1),
			})
		}
	}
	return rs, nil
}

// compileRule checks and compiles rules[i].
func compileRule(i int, raw json.RawMessage) (rule, error) {
	var ru rule
	fail := func(field string, err error) (rule, error) {
		return rule{}, &RuleError{Index: i, Name: ru.name, Field: field, Err: err}
	}
	var fields map[string]json.RawMessage
	if kind(raw) != "an object" || json.Unmarshal(raw, &fields) != nil {
		return fail("", fmt.Errorf("must be an object, not %s", kind(raw)))
	}
	if v, ok := fields["name"]; ok {
		s, err := stringValue(v)
		if err != nil {
			return fail("name", err)
		}
		ru.name = s
	}
	for _, k := range sortedKeys(fields) {
		if !slices.Contains(ruleFields, k) {
			return fail("", fmt.Errorf("unknown field %q (want one of %s)", k, strings.Join(ruleFields, ", ")))
		}
	}

	if v, ok := fields["description"]; ok {
		if _, err := stringValue(v); err != nil {
			return fail("description", err)
		}
	}
	v, ok := fields["stage"]
	if !ok {
		return fail("stage", errors.New("required (awareness, evaluation, purchase, return, advocacy or none)"))
	}
	s, err := stringValue(v)
	if err != nil {
		return fail("stage", err)
	}
	switch {
	case s == "none":
		ru.stage = None
	case Order(s) > 0:
		ru.stage = s
	default:
		return fail("stage", fmt.Errorf("%q is not a stage (awareness, evaluation, purchase, return, advocacy or none)", s))
	}

	if v, ok := fields["requires_purchase"]; ok {
		if ru.requiresPurchase, err = boolValue(v); err != nil {
			return fail("requires_purchase", err)
		}
	}
	if v, ok := fields["landing"]; ok {
		b, err := boolValue(v)
		if err != nil {
			return fail("landing", err)
		}
		ru.landing = -1
		if b {
			ru.landing = 1
		}
	}

	lists := []struct {
		name  string
		dst   *[]string
		check func(string) (string, error)
	}{
		{"type", &ru.types, oneOf("type", validTypes)},
		{"event_name", &ru.names, nil},
		{"event_name_prefix", &ru.prefixes, nil},
		{"touchpoint", &ru.touchpoints, oneOf("touchpoint", validTouchpoints)},
		{"channel", &ru.channels, canonicalChannel},
		{"utm_medium", &ru.mediums, func(s string) (string, error) { return strings.ToLower(s), nil }},
	}
	for _, l := range lists {
		v, ok := fields[l.name]
		if !ok {
			continue
		}
		vals, err := stringList(v)
		if err != nil {
			return fail(l.name, err)
		}
		for j, s := range vals {
			if l.check == nil {
				continue
			}
			if vals[j], err = l.check(s); err != nil {
				return fail(l.name, err)
			}
		}
		*l.dst = vals
	}

	if v, ok := fields["page_path"]; ok {
		pats, err := stringList(v)
		if err != nil {
			return fail("page_path", err)
		}
		for _, p := range pats {
			g, err := compileGlob(p)
			if err != nil {
				return fail("page_path", err)
			}
			ru.paths = append(ru.paths, g)
		}
	}

	if v, ok := fields["properties"]; ok {
		var props map[string]json.RawMessage
		if kind(v) != "an object" || json.Unmarshal(v, &props) != nil {
			return fail("properties", fmt.Errorf(`must be an object of property: value or property: [values] (e.g. {"score": [9, 10]}), not %s`, kind(v)))
		}
		if len(props) == 0 {
			return fail("properties", errors.New("must name at least one property"))
		}
		for _, k := range sortedKeys(props) {
			if strings.TrimSpace(k) == "" {
				return fail("properties", errors.New("a property name must not be empty"))
			}
			vals, err := scalarList(props[k])
			if err != nil {
				return fail("properties."+k, err)
			}
			ru.props = append(ru.props, propCond{key: k, values: vals})
		}
	}
	return ru, nil
}

// compileGlob checks a page_path pattern and splits it into segments.
func compileGlob(p string) (glob, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf(`%q: a pattern must start with "/" (use "/**/name" to match anywhere)`, p)
	}
	p = strings.ToLower(p)
	for len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	var g glob
	for _, seg := range splitPath(p) {
		if seg == "**" {
			if len(g) > 0 && g[len(g)-1] == "**" {
				continue
			}
			g = append(g, seg)
			continue
		}
		if strings.Contains(seg, "**") {
			return nil, fmt.Errorf(`%q: "**" must be a whole path segment ("/a/**/b")`, p)
		}
		if _, err := path.Match(seg, seg); err != nil {
			return nil, fmt.Errorf("%q: bad pattern segment %q: %w", p, seg, err)
		}
		g = append(g, seg)
	}
	return g, nil
}

func oneOf(field string, valid []string) func(string) (string, error) {
	return func(s string) (string, error) {
		if slices.Contains(valid, s) {
			return s, nil
		}
		return "", fmt.Errorf("%q is not a %s (want one of %s)", s, field, strings.Join(valid, ", "))
	}
}

func canonicalChannel(s string) (string, error) {
	if c, ok := channel.Canonical(s); ok {
		return c, nil
	}
	return "", fmt.Errorf("%q is not a channel (want one of %s)", s, strings.Join(channel.Names(), ", "))
}

// stringValue decodes a JSON string.
func stringValue(raw json.RawMessage) (string, error) {
	var s string
	if kind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("must be a string, not %s", kind(raw))
	}
	return s, nil
}

func boolValue(raw json.RawMessage) (bool, error) {
	var b bool
	if kind(raw) != "true or false" || json.Unmarshal(raw, &b) != nil {
		return false, fmt.Errorf("must be true or false, not %s", kind(raw))
	}
	return b, nil
}

// stringList decodes "x" or ["x", "y"]: non-empty strings, at least one.
func stringList(raw json.RawMessage) ([]string, error) {
	var out []string
	switch kind(raw) {
	case "a string":
		s, err := stringValue(raw)
		if err != nil {
			return nil, err
		}
		out = []string{s}
	case "a list":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, errors.New("must not be an empty list")
		}
		for j, it := range items {
			s, err := stringValue(it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", j, err)
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("must be a string or a list of strings, not %s", kind(raw))
	}
	for j, s := range out {
		if s == "" {
			if len(out) == 1 {
				return nil, errors.New("must not be empty")
			}
			return nil, fmt.Errorf("item %d: must not be empty", j)
		}
	}
	return out, nil
}

// scalarList decodes a property value or a list of them: strings, numbers
// (as float64), true/false and null.
func scalarList(raw json.RawMessage) ([]any, error) {
	if kind(raw) != "a list" {
		v, err := scalar(raw)
		if err != nil {
			return nil, err
		}
		return []any{v}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("must not be an empty list")
	}
	out := make([]any, 0, len(items))
	for j, it := range items {
		v, err := scalar(it)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", j, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func scalar(raw json.RawMessage) (any, error) {
	switch kind(raw) {
	case "a string":
		return stringValue(raw)
	case "true or false":
		return boolValue(raw)
	case "null":
		return nil, nil
	case "a number":
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", bytes.TrimSpace(raw), err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("must be a string, number, true, false or null (or a list of them), not %s", kind(raw))
}

// kind names the JSON kind of a valid JSON value, for error messages.
func kind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '[':
		return "a list"
	case '{':
		return "an object"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonError adds the line and column to a JSON error that has an offset.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		return fmt.Errorf("want a JSON object with a \"rules\" list, not %s", te.Value)
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	// The offending byte is the last one read: data[off-1].
	before := data[:max(off-1, 0)]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
