package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/touchstream/touchstream/pipeline"
)

// Registry is the set of loaded mappings, one per source. It is immutable
// once loaded and safe for concurrent use.
type Registry struct {
	bySource map[string]*Mapping
}

// Mapping turns one platform's webhook bodies into events. It is immutable
// and safe for concurrent use.
type Mapping struct {
	source      string
	file        string // where it was loaded from, for messages
	description string
	eventsPath  path
	sig         *signature // nil: no signature check
	rules       []rule
}

// rule is one entry of a mapping's ordered rules.
type rule struct {
	at         string // "rules[2]", for messages
	when       []condition
	event      string
	touchpoint string
	fields     fieldSet
}

// condition is one test of a rule's when; all of a rule's must hold.
type condition struct {
	path   path
	op     string // opEquals, opIn or opExists
	values []any  // the literal for equals, the list for in
	exists bool
}

const (
	opEquals = "equals"
	opIn     = "in"
	opExists = "exists"
)

// fieldSet is what a rule fills: the event's columns by name (see
// columnFields) and its properties. A nil entry removes a default.
type fieldSet struct {
	columns    map[string]*valueSpec
	properties map[string]*valueSpec
}

// valueSpec says where one value comes from: the first of paths that is
// present in the item, else the literal.
type valueSpec struct {
	field      string // "properties.score", for messages
	paths      []path
	literal    any
	hasLiteral bool
	required   bool
	typ        string   // properties: any, string, number, integer, boolean
	min, max   *float64 // properties of type number or integer
	format     string   // timestamp: rfc3339, unix, unix_ms
}

// Column fields: the event's columns a rule can fill.
const (
	fieldVisitorID   = "visitor_id"
	fieldUserID      = "user_id"
	fieldTimestamp   = "timestamp"
	fieldMessageID   = "message_id"
	fieldPageURL     = "page_url"
	fieldReferrer    = "referrer"
	fieldUTMSource   = "utm_source"
	fieldUTMMedium   = "utm_medium"
	fieldUTMCampaign = "utm_campaign"
	fieldRevenue     = "revenue"
	fieldCurrency    = "currency"
	fieldOrderID     = "order_id"
	fieldCartID      = "cart_id"
	fieldProperties  = "properties"
)

var columnFields = []string{
	fieldVisitorID, fieldUserID, fieldTimestamp, fieldMessageID, fieldPageURL, fieldReferrer,
	fieldUTMSource, fieldUTMMedium, fieldUTMCampaign, fieldRevenue, fieldCurrency, fieldOrderID, fieldCartID,
}

// Timestamp formats.
const (
	formatRFC3339 = "rfc3339" // an ISO 8601 / RFC 3339 string
	formatUnix    = "unix"    // seconds since the epoch (a number or numeric string; fractions allowed)
	formatUnixMS  = "unix_ms" // milliseconds since the epoch
)

// Property types.
const (
	typeAny     = "any"
	typeString  = "string"
	typeNumber  = "number"
	typeInteger = "integer"
	typeBoolean = "boolean"
)

var (
	sourceName  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	touchpoints = []string{
		pipeline.TouchpointWeb, pipeline.TouchpointApp, pipeline.TouchpointSocial, pipeline.TouchpointChat,
		pipeline.TouchpointEmail, pipeline.TouchpointSMS, pipeline.TouchpointServer,
	}
)

// Load reads every *.json file directly in dir as a mapping (examples/ and
// other subdirectories are not read). Secrets named by signature checks are
// read from the environment now. Its errors name the file and the field at
// fault, every problem found at once.
func Load(dir string) (*Registry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("webhook mappings: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("webhook mappings: %s is not a directory", dir)
	}
	return load(os.DirFS(dir), dir, nil)
}

// LoadFS is Load over a file system, such as an embed.FS holding the shipped
// mappings: it reads every *.json file at its root. getenv looks up the
// secrets of signature checks; nil means os.Getenv.
func LoadFS(fsys fs.FS, getenv func(string) string) (*Registry, error) {
	return load(fsys, "", getenv)
}

func load(fsys fs.FS, dir string, getenv func(string) string) (*Registry, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("webhook mappings: %w", err)
	}
	sort.Strings(names)
	reg := &Registry{bySource: make(map[string]*Mapping, len(names))}
	var errs []error
	for _, name := range names {
		file := name
		if dir != "" {
			file = filepath.Join(dir, name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		m, err := parseMapping(file, b, getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := reg.bySource[m.source]; dup {
			errs = append(errs, fmt.Errorf("%s: source: %q is already defined in %s", file, m.source, prev.file))
			continue
		}
		reg.bySource[m.source] = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return reg, nil
}

// Mapping returns the mapping of source.
func (r *Registry) Mapping(source string) (*Mapping, bool) {
	m, ok := r.bySource[source]
	return m, ok
}

// Sources returns the loaded sources, sorted.
func (r *Registry) Sources() []string {
	out := make([]string, 0, len(r.bySource))
	for s := range r.bySource {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Source is the mapping's source name, the {source} of its URL.
func (m *Mapping) Source() string { return m.source }

// File is where the mapping was loaded from.
func (m *Mapping) File() string { return m.file }

// Signed reports whether requests must carry a valid signature.
func (m *Mapping) Signed() bool { return m.sig != nil }

// parser collects the problems of one mapping file.
type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(at, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if at != "" {
		msg = at + ": " + msg
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %s", p.file, msg))
}

// object decodes raw as a JSON object whose keys must be among allowed
// (any key when allowed is empty).
func (p *parser) object(raw json.RawMessage, at string, allowed ...string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if !isObject(raw) || json.Unmarshal(raw, &m) != nil {
		p.errorf(at, "must be an object")
		return nil, false
	}
	for _, k := range sortedKeys(m) {
		if len(allowed) > 0 && !slices.Contains(allowed, k) {
			p.errorf(join(at, k), "unknown key (want one of %s)", strings.Join(allowed, ", "))
		}
	}
	return m, true
}

func (p *parser) str(raw json.RawMessage, at string) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		p.errorf(at, "must be a string")
		return "", false
	}
	return s, true
}

func (p *parser) boolean(raw json.RawMessage, at string) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		p.errorf(at, "must be true or false")
		return false, false
	}
	return b, true
}

func (p *parser) number(raw json.RawMessage, at string) (*float64, bool) {
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		p.errorf(at, "must be a number")
		return nil, false
	}
	return &f, true
}

func (p *parser) path(raw json.RawMessage, at string, wildcard bool) (path, bool) {
	s, ok := p.str(raw, at)
	if !ok {
		return path{}, false
	}
	pa, err := parsePath(s, wildcard)
	if err != nil {
		p.errorf(at, "%v", err)
		return path{}, false
	}
	return pa, true
}

// literal decodes raw keeping numbers as json.Number, as items are.
func literal(raw json.RawMessage) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	_ = d.Decode(&v) // raw is valid JSON: it came out of an object
	return v
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// parseMapping compiles one mapping file.
func parseMapping(file string, b []byte, getenv func(string) string) (*Mapping, error) {
	p := &parser{file: file}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if err := json.Unmarshal(b, new(json.RawMessage)); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			line, col := position(b, max(se.Offset-1, 0)) // Offset is just past the bad byte
			return nil, fmt.Errorf("%s:%d:%d: invalid JSON: %w", file, line, col, err)
		}
		return nil, fmt.Errorf("%s: invalid JSON: %w", file, err)
	}
	top, ok := p.object(b, "", "$schema", "source", "description", "auth", "events_path", "defaults", "rules")
	if !ok {
		return nil, errors.Join(p.errs...)
	}
	m := &Mapping{file: file}

	if raw, ok := top["source"]; !ok {
		p.errorf("source", "required")
	} else if s, ok := p.str(raw, "source"); ok {
		if !sourceName.MatchString(s) {
			p.errorf("source", "%q must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", s)
		}
		m.source = s
	}
	if raw, ok := top["description"]; ok {
		m.description, _ = p.str(raw, "description")
	}
	if raw, ok := top["events_path"]; !ok {
		p.errorf("events_path", `required ("$" when the body is one event)`)
	} else {
		m.eventsPath, _ = p.path(raw, "events_path", true)
	}
	if raw, ok := top["auth"]; ok {
		m.sig = p.auth(raw, getenv)
	}

	var defaults fieldSet
	defaultTouchpoint := ""
	if raw, ok := top["defaults"]; ok {
		if d, ok := p.object(raw, "defaults", "touchpoint", "fields"); ok {
			if raw, ok := d["touchpoint"]; ok {
				defaultTouchpoint = p.touchpoint(raw, "defaults.touchpoint")
			}
			if raw, ok := d["fields"]; ok {
				defaults = p.fields(raw, "defaults.fields")
			}
		}
	}

	raw, ok := top["rules"]
	var rules []json.RawMessage
	switch {
	case !ok:
		p.errorf("rules", "required")
	case json.Unmarshal(raw, &rules) != nil:
		p.errorf("rules", "must be an array")
	case len(rules) == 0:
		p.errorf("rules", "must hold at least one rule")
	}
	for i, raw := range rules {
		at := fmt.Sprintf("rules[%d]", i)
		if r, ok := p.rule(raw, at, defaultTouchpoint, defaults); ok {
			m.rules = append(m.rules, r)
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return m, nil
}

func (p *parser) auth(raw json.RawMessage, getenv func(string) string) *signature {
	a, ok := p.object(raw, "auth", "signature")
	if !ok {
		return nil
	}
	raw, ok = a["signature"]
	if !ok {
		return nil
	}
	const at = "auth.signature"
	o, ok := p.object(raw, at, "header", "secret_env", "algorithm", "encoding", "prefix", "optional")
	if !ok {
		return nil
	}
	sig := &signature{algorithm: "sha256", encoding: "hex"}
	req := func(key string) string {
		raw, ok := o[key]
		if !ok {
			p.errorf(join(at, key), "required")
			return ""
		}
		s, ok := p.str(raw, join(at, key))
		if ok && s == "" {
			p.errorf(join(at, key), "must not be empty")
		}
		return s
	}
	sig.header = req("header")
	env := req("secret_env")
	if raw, ok := o["algorithm"]; ok {
		if s, ok := p.str(raw, join(at, "algorithm")); ok {
			if hashes[s] == nil {
				p.errorf(join(at, "algorithm"), "%q is not one of sha256, sha1, sha512", s)
			}
			sig.algorithm = s
		}
	}
	if raw, ok := o["encoding"]; ok {
		if s, ok := p.str(raw, join(at, "encoding")); ok {
			if s != "hex" && s != "base64" {
				p.errorf(join(at, "encoding"), "%q is not one of hex, base64", s)
			}
			sig.encoding = s
		}
	}
	if raw, ok := o["prefix"]; ok {
		sig.prefix, _ = p.str(raw, join(at, "prefix"))
	}
	optional := false
	if raw, ok := o["optional"]; ok {
		optional, _ = p.boolean(raw, join(at, "optional"))
	}
	if env == "" {
		return nil
	}
	secret := getenv(env)
	if secret == "" {
		if !optional {
			p.errorf(join(at, "secret_env"), "environment variable %s is not set (set it, or set optional to true to accept unsigned requests while it is unset)", env)
		}
		return nil
	}
	sig.secret = []byte(secret)
	return sig
}

func (p *parser) touchpoint(raw json.RawMessage, at string) string {
	s, ok := p.str(raw, at)
	if ok && !slices.Contains(touchpoints, s) {
		p.errorf(at, "%q is not one of %s", s, strings.Join(touchpoints, ", "))
		return ""
	}
	return s
}

func (p *parser) rule(raw json.RawMessage, at, defaultTouchpoint string, defaults fieldSet) (rule, bool) {
	r := rule{at: at, touchpoint: defaultTouchpoint}
	o, ok := p.object(raw, at, "description", "when", "event", "touchpoint", "fields")
	if !ok {
		return r, false
	}
	nerr := len(p.errs)
	if raw, ok := o["description"]; ok {
		p.str(raw, join(at, "description"))
	}
	if raw, ok := o["when"]; ok {
		r.when = p.when(raw, join(at, "when"))
	}
	if raw, ok := o["event"]; !ok {
		p.errorf(join(at, "event"), "required (the event name, e.g. \"Social Comment\")")
	} else if s, ok := p.str(raw, join(at, "event")); ok {
		if strings.TrimSpace(s) == "" {
			p.errorf(join(at, "event"), "must not be empty")
		}
		r.event = s
	}
	if raw, ok := o["touchpoint"]; ok {
		r.touchpoint = p.touchpoint(raw, join(at, "touchpoint"))
	} else if r.touchpoint == "" {
		p.errorf(join(at, "touchpoint"), "required here or in defaults.touchpoint")
	}
	var own fieldSet
	if raw, ok := o["fields"]; ok {
		own = p.fields(raw, join(at, "fields"))
	}
	r.fields = merge(defaults, own)
	if r.fields.columns[fieldVisitorID] == nil && r.fields.columns[fieldUserID] == nil {
		p.errorf(join(at, "fields"), "visitor_id or user_id is required (here or in defaults.fields)")
	}
	return r, len(p.errs) == nerr
}

// when is one condition object, or an array of them that must all hold.
func (p *parser) when(raw json.RawMessage, at string) []condition {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var out []condition
		for i, c := range list {
			if cond, ok := p.condition(c, fmt.Sprintf("%s[%d]", at, i)); ok {
				out = append(out, cond)
			}
		}
		return out
	}
	if c, ok := p.condition(raw, at); ok {
		return []condition{c}
	}
	return nil
}

func (p *parser) condition(raw json.RawMessage, at string) (condition, bool) {
	var c condition
	o, ok := p.object(raw, at, "path", opEquals, opIn, opExists)
	if !ok {
		return c, false
	}
	if raw, ok := o["path"]; !ok {
		p.errorf(join(at, "path"), "required")
	} else {
		c.path, _ = p.path(raw, join(at, "path"), false)
	}
	var ops []string
	for _, op := range []string{opEquals, opIn, opExists} {
		if _, ok := o[op]; ok {
			ops = append(ops, op)
		}
	}
	if len(ops) != 1 {
		p.errorf(at, "needs exactly one of equals, in, exists")
		return c, false
	}
	c.op = ops[0]
	raw = o[c.op]
	switch c.op {
	case opEquals:
		c.values = []any{literal(raw)}
	case opIn:
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
			p.errorf(join(at, opIn), "must be a non-empty array")
			return c, false
		}
		for _, v := range list {
			c.values = append(c.values, literal(v))
		}
	case opExists:
		c.exists, ok = p.boolean(raw, join(at, opExists))
		if !ok {
			return c, false
		}
	}
	return c, true
}

// fields compiles a fields object. A null value is kept as a nil entry, so
// that a rule can remove a default.
func (p *parser) fields(raw json.RawMessage, at string) fieldSet {
	fs := fieldSet{columns: map[string]*valueSpec{}, properties: map[string]*valueSpec{}}
	o, ok := p.object(raw, at, append(slices.Clone(columnFields), fieldProperties)...)
	if !ok {
		return fs
	}
	for _, name := range sortedKeys(o) {
		raw := o[name]
		if name == fieldProperties {
			continue
		}
		if isNull(raw) {
			fs.columns[name] = nil
			continue
		}
		allowed := []string{"path", "value", "required"}
		if name == fieldTimestamp {
			allowed = append(allowed, "format")
		}
		fs.columns[name] = p.value(raw, join(at, name), name, allowed)
	}
	if raw, ok := o[fieldProperties]; ok {
		props, _ := p.object(raw, join(at, fieldProperties))
		for _, name := range sortedKeys(props) {
			raw := props[name]
			if name == "" {
				p.errorf(join(at, fieldProperties), "a property name must not be empty")
				continue
			}
			if isNull(raw) {
				fs.properties[name] = nil
				continue
			}
			fs.properties[name] = p.value(raw, join(join(at, fieldProperties), name), fieldProperties+"."+name,
				[]string{"path", "value", "required", "type", "min", "max"})
		}
	}
	return fs
}

// value compiles one value spec: "$.path", ["$.a", "$.b"], a literal, or
// an object with the keys in allowed.
func (p *parser) value(raw json.RawMessage, at, field string, allowed []string) *valueSpec {
	v := &valueSpec{field: field, typ: typeAny}
	if field == fieldTimestamp {
		v.format = formatRFC3339
	}
	paths := func(raw json.RawMessage, at string) {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			if len(list) == 0 {
				p.errorf(at, "must not be an empty list")
			}
			for i, e := range list {
				if pa, ok := p.path(e, fmt.Sprintf("%s[%d]", at, i), false); ok {
					v.paths = append(v.paths, pa)
				}
			}
			return
		}
		if pa, ok := p.path(raw, at, false); ok {
			v.paths = append(v.paths, pa)
		}
	}
	switch t := bytes.TrimSpace(raw); t[0] {
	case '"':
		s, _ := p.str(raw, at)
		switch {
		case strings.HasPrefix(s, "$$"):
			v.literal, v.hasLiteral = s[1:], true
		case strings.HasPrefix(s, "$"):
			paths(raw, at)
		default:
			v.literal, v.hasLiteral = s, true
		}
	case '[':
		paths(raw, at)
	case '{':
		o, ok := p.object(raw, at, allowed...)
		if !ok {
			return v
		}
		if raw, ok := o["path"]; ok {
			paths(raw, join(at, "path"))
		}
		if raw, ok := o["value"]; ok {
			v.literal, v.hasLiteral = literal(raw), true
		}
		if len(v.paths) == 0 && !v.hasLiteral {
			p.errorf(at, "needs path or value")
		}
		if raw, ok := o["required"]; ok {
			v.required, _ = p.boolean(raw, join(at, "required"))
		}
		if raw, ok := o["format"]; ok {
			if s, ok := p.str(raw, join(at, "format")); ok {
				if s != formatRFC3339 && s != formatUnix && s != formatUnixMS {
					p.errorf(join(at, "format"), "%q is not one of rfc3339, unix, unix_ms", s)
				}
				v.format = s
			}
		}
		if raw, ok := o["type"]; ok {
			if s, ok := p.str(raw, join(at, "type")); ok {
				if !slices.Contains([]string{typeAny, typeString, typeNumber, typeInteger, typeBoolean}, s) {
					p.errorf(join(at, "type"), "%q is not one of any, string, number, integer, boolean", s)
				}
				v.typ = s
			}
		}
		for _, k := range []string{"min", "max"} {
			raw, ok := o[k]
			if !ok {
				continue
			}
			if v.typ != typeNumber && v.typ != typeInteger {
				p.errorf(join(at, k), "only for type number or integer")
			}
			f, _ := p.number(raw, join(at, k))
			if k == "min" {
				v.min = f
			} else {
				v.max = f
			}
		}
		if v.min != nil && v.max != nil && *v.min > *v.max {
			p.errorf(at, "min %v is above max %v", *v.min, *v.max)
		}
	default:
		v.literal, v.hasLiteral = literal(raw), true
	}
	if v.hasLiteral && len(v.paths) == 0 && field == fieldTimestamp {
		p.errorf(at, "must be a path (an event's time is not a constant)")
	}
	if v.hasLiteral && len(v.paths) == 0 && field == fieldMessageID {
		p.errorf(at, "must be a path (a constant would make every event a duplicate)")
	}
	return v
}

// merge lays own over defaults: a key own has wins whole, and a nil entry
// removes the default; properties merge key by key.
func merge(defaults, own fieldSet) fieldSet {
	out := fieldSet{columns: map[string]*valueSpec{}, properties: map[string]*valueSpec{}}
	for _, layer := range []fieldSet{defaults, own} {
		for k, v := range layer.columns {
			out.columns[k] = v
		}
		for k, v := range layer.properties {
			out.properties[k] = v
		}
	}
	for k, v := range out.columns {
		if v == nil {
			delete(out.columns, k)
		}
	}
	for k, v := range out.properties {
		if v == nil {
			delete(out.properties, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	before := b[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// isObject reports whether raw holds a JSON object (judged by its first
// byte; raw is valid JSON).
func isObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}
