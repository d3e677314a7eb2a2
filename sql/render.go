package sqlfiles

import (
	"fmt"
	"strings"
	"text/template"
)

// FilteredPrefix marks the alternative of a template a query file defines
// for a filtered report: the define "filtered_NAME" takes the place of
// "NAME" when the report has a filter (sql/README.md, "Report filters").
const FilteredPrefix = "filtered_"

// filtersFile holds the defines every query file may use: the report
// filter's condition on one event ("report_filter") and a property's value
// ("prop").
const filtersFile = "filters"

// Query returns queries/<name>.sql as a report runs it. A query file is a
// Go text/template that may use the defines of queries/filters.sql; with
// filtered, each of its templates "filtered_NAME" takes the place of
// "NAME", without it the defaults hold. The parameterized views (package
// clickhouse) are the unfiltered text, so a view and an unfiltered report
// run the same SQL. A file with no template actions is returned as it is.
func Query(name string, filtered bool) (string, error) {
	t, err := Template(name)
	if err != nil {
		return "", err
	}
	if filtered {
		if t, err = Filtered(t); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("render %s.sql: %w", name, err)
	}
	return b.String(), nil
}

// Template parses queries/<name>.sql, with the defines of
// queries/filters.sql, as a Go template named "<name>.sql" that refuses
// missing keys.
func Template(name string) (*template.Template, error) {
	t := template.New(name + ".sql").Option("missingkey=error")
	for _, file := range []string{name, filtersFile} {
		b, err := Queries.ReadFile("queries/" + file + ".sql")
		if err != nil {
			return nil, fmt.Errorf("read query %s: %w", file, err)
		}
		u := t
		if file != name {
			u = t.New(file + ".sql")
		}
		if _, err := u.Parse(string(b)); err != nil {
			return nil, fmt.Errorf("parse %s.sql: %w", file, err)
		}
	}
	return t, nil
}

// Filtered returns a clone of t (which stays as it is) in which each
// template "filtered_NAME" takes the place of "NAME".
func Filtered(t *template.Template) (*template.Template, error) {
	var redefine strings.Builder
	for _, d := range t.Templates() {
		if name, ok := strings.CutPrefix(d.Name(), FilteredPrefix); ok {
			fmt.Fprintf(&redefine, `{{define %q}}{{template %q .}}{{end}}`, name, d.Name())
		}
	}
	c, err := t.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", t.Name(), err)
	}
	if _, err := c.Parse(redefine.String()); err != nil {
		return nil, fmt.Errorf("parse %s filtered: %w", t.Name(), err)
	}
	return c, nil
}
