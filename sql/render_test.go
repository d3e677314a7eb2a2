package sqlfiles

import (
	"strings"
	"testing"
	"text/template"
)

func TestFilteredReplacesDefaults(t *testing.T) {
	base := template.Must(template.New("q.sql").Parse(
		`{{define "cond"}}true{{end}}{{define "filtered_cond"}}passes{{end}}WHERE {{template "cond"}}`))
	f, err := Variant(base, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    *template.Template
		want string
	}{{base, "WHERE true"}, {f, "WHERE passes"}} {
		var b strings.Builder
		if err := c.t.Execute(&b, nil); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("got %q, want %q", b.String(), c.want)
		}
	}
}

// TestQueryEveryFile renders every query file both ways: each parses with
// filters.sql, and a file without template actions comes out as it is.
func TestQueryEveryFile(t *testing.T) {
	entries, err := Queries.ReadDir("queries")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		raw, err := Queries.ReadFile("queries/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "{{") {
			// Templates with data of their own (funnel.sql) are rendered by
			// package report; parsing must still work.
			if _, err := Template(name); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		for _, filtered := range []bool{false, true} {
			got, err := Query(name, filtered)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got != string(raw) {
				t.Errorf("%s (filtered %v): plain SQL changed by rendering", name, filtered)
			}
		}
	}
}
