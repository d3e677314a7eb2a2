package report

import (
	"fmt"
	"sync"
	"text/template"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// querySQL returns the SQL of sql/queries/<name>.sql, unfiltered (the
// defaults of its templates, as its parameterized view runs it).
func querySQL(name string) (string, error) {
	return sqlfiles.Query(name, false)
}

// filteredSQL returns the SQL of sql/queries/<name>.sql for a report with
// filter f: with its templates "filtered_NAME" in place of "NAME" unless f
// is the zero Filter.
func filteredSQL(name string, f Filter) (string, error) {
	return sqlfiles.Query(name, !f.IsZero())
}

// withGroups adds funnel_groups.sql's define ("empty_groups", the groups
// a funnel lists even when nobody is in them) to t: funnel.sql and
// funnel_modes.sql share that one definition.
func withGroups(t *template.Template) (*template.Template, error) {
	return sqlfiles.Add(t, "funnel_groups")
}

// companion returns a clone of t (which other renders share, so it stays
// as it is) with the companion query sql/queries/<name>.sql parsed into
// it: a file that runs after t's defines, as funnel_dropoff.sql after
// funnel.sql's.
func companion(t *template.Template, name string) (*template.Template, error) {
	c, err := t.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", t.Name(), err)
	}
	return sqlfiles.Add(c, name)
}

// funnelTemplate is funnel.sql, parsed once.
var funnelTemplate = sync.OnceValues(func() (*template.Template, error) {
	t, err := sqlfiles.Template("funnel")
	if err != nil {
		return nil, err
	}
	return withGroups(t)
})
