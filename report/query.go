package report

import (
	"fmt"
	"strings"
	"sync"
	"text/template"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// querySQL returns the SQL of sql/queries/<name>.sql.
func querySQL(name string) (string, error) {
	b, err := sqlfiles.Queries.ReadFile("queries/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("read query %s: %w", name, err)
	}
	return string(b), nil
}

// withGroups adds funnel_groups.sql's define ("empty_groups", the groups
// a funnel lists even when nobody is in them) to t: funnel.sql and
// funnel_modes.sql share that one definition.
func withGroups(t *template.Template) (*template.Template, error) {
	text, err := querySQL("funnel_groups")
	if err != nil {
		return nil, err
	}
	if _, err := t.New("funnel_groups.sql").Parse(text); err != nil {
		return nil, fmt.Errorf("parse funnel_groups.sql: %w", err)
	}
	return t, nil
}

// funnelTemplate is funnel.sql, parsed once.
var funnelTemplate = sync.OnceValues(func() (*template.Template, error) {
	text, err := querySQL("funnel")
	if err != nil {
		return nil, err
	}
	t, err := template.New("funnel.sql").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse funnel.sql: %w", err)
	}
	return withGroups(t)
})

// funnelSQL renders funnel.sql for n steps. The template sees only how
// many steps there are, never their names: those go as parameters.
func funnelSQL(n int) (string, error) {
	t, err := funnelTemplate()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, struct{ Steps []struct{} }{make([]struct{}, n)}); err != nil {
		return "", fmt.Errorf("render funnel.sql: %w", err)
	}
	return b.String(), nil
}
