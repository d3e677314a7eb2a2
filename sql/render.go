package sqlfiles

import (
	"fmt"
	"strings"
	"sync"
	"text/template"
)

// FilteredPrefix marks the alternative of a template a query file defines
// for a filtered report: the define "filtered_NAME" takes the place of
// "NAME" when the report has a filter (sql/README.md, "Report filters").
const FilteredPrefix = "filtered_"

// filtersFile holds the defines every query file may use: the report
// filter's condition on one event ("report_filter"), the places a report
// filter goes that several files share ("session_filter",
// "rollup_filter"), and a property's value ("prop").
const filtersFile = "filters"

// rendered memoizes Query: its text depends on nothing but the embedded
// files, so each (name, filtered) is rendered once per process.
var rendered sync.Map // queryKey -> string

type queryKey struct {
	name     string
	filtered bool
}

// Query returns queries/<name>.sql as a report runs it. A query file is a
// Go text/template that may use the defines of queries/filters.sql; with
// filtered, each template "filtered_NAME" takes the place of "NAME",
// without it the defaults hold. The parameterized views (package
// clickhouse) are the unfiltered text, so a view and an unfiltered report
// run the same SQL. A file with no template actions is returned as it is.
func Query(name string, filtered bool) (string, error) {
	key := queryKey{name, filtered}
	if text, ok := rendered.Load(key); ok {
		return text.(string), nil
	}
	t, err := Template(name)
	if err == nil {
		t, err = Variant(t, nil, filtered)
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("render %s.sql: %w", name, err)
	}
	rendered.Store(key, b.String())
	return b.String(), nil
}

// Template parses queries/<name>.sql, with the defines of
// queries/filters.sql, as a Go template named "<name>.sql" that refuses
// missing keys.
func Template(name string) (*template.Template, error) {
	t, err := Add(template.New(name+".sql").Option("missingkey=error"), name)
	if err != nil {
		return nil, err
	}
	return Add(t, filtersFile)
}

// Add parses queries/<name>.sql into t's set as the template "<name>.sql"
// (t itself when that is t's name) and returns t.
func Add(t *template.Template, name string) (*template.Template, error) {
	b, err := Queries.ReadFile("queries/" + name + ".sql")
	if err != nil {
		return nil, fmt.Errorf("read query %s: %w", name, err)
	}
	u := t
	if t.Name() != name+".sql" {
		u = t.New(name + ".sql")
	}
	if _, err := u.Parse(string(b)); err != nil {
		return nil, fmt.Errorf("parse %s.sql: %w", name, err)
	}
	return t, nil
}

// Variant returns t, or a clone of it (t stays as it is: other renders
// share it) where each template uses[i][0] is the template uses[i][1] and,
// with filtered, each template "NAME" is "filtered_NAME" where t has one:
// a query's variant for what a report asks.
func Variant(t *template.Template, uses [][2]string, filtered bool) (*template.Template, error) {
	if filtered {
		uses = uses[:len(uses):len(uses)] // append to a copy, not the caller's array
		for _, d := range t.Templates() {
			if name, ok := strings.CutPrefix(d.Name(), FilteredPrefix); ok {
				uses = append(uses, [2]string{name, d.Name()})
			}
		}
	}
	if len(uses) == 0 {
		return t, nil
	}
	var redefine strings.Builder
	for _, u := range uses {
		fmt.Fprintf(&redefine, `{{define %q}}{{template %q .}}{{end}}`, u[0], u[1])
	}
	c, err := t.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", t.Name(), err)
	}
	if _, err := c.Parse(redefine.String()); err != nil {
		return nil, fmt.Errorf("parse %s variant: %w", t.Name(), err)
	}
	return c, nil
}
