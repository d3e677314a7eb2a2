package report

import (
	"fmt"
	"strings"
	"sync"
	"text/template"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// modesTemplate is funnel_modes.sql, parsed once.
var modesTemplate = sync.OnceValues(func() (*template.Template, error) {
	t, err := sqlfiles.Template("funnel_modes")
	if err != nil {
		return nil, err
	}
	return withGroups(t)
})

// modesVariant returns funnel_modes.sql with the templates redefined that
// q needs for a breakdown: "" for none, TrendDay or TrendWeek, or one of
// funnel.sql's breakdowns. A plain funnel keeps every default.
func (q *funnelQuery) modesVariant(breakdown string) (*template.Template, error) {
	t, err := modesTemplate()
	if err != nil {
		return nil, err
	}
	// The parts the funnel needs are those funnel.sql's variant names.
	v := q.variant(breakdown)
	var uses [][2]string
	switch v.by {
	case BySession:
		uses = append(uses, [2]string{"unit", "session_unit"}, [2]string{"unit_where", "session_unit_where"})
	case ByPerson:
		uses = append(uses, [2]string{"unit", "person_unit"}, [2]string{"person_join", "person_person_join"},
			[2]string{"linked", "person_linked"})
	}
	if v.pages {
		uses = append(uses, [2]string{"page_cond", "pages_page_cond"})
	}
	if v.filters {
		uses = append(uses, [2]string{"cond", "filter_cond"})
	}
	if v.stepWindows {
		uses = append(uses, [2]string{"step_window", "step_window_step_window"})
	}
	// Mode any reads the events that can be steps or exclusions only (the
	// drop-off list redefines mode_where to read every event,
	// funnel_modes_dropoff.sql). Exclusions change nothing in mode strict.
	if q.mode == ModeAny {
		uses = append(uses, [2]string{"mode_where", "any_mode_where"})
		if v.pages {
			uses = append(uses, [2]string{"any_where_pages", "pages_any_where_pages"})
		}
		if v.exclude {
			uses = append(uses, [2]string{"excluded", "exclude_excluded"}, [2]string{"any_exclude", "exclude_any_exclude"})
		}
	}
	switch breakdown {
	case "":
	case TrendDay, TrendWeek:
		uses = append(uses, [2]string{"value", "trend_value"})
	default:
		uses = append(uses, [2]string{"value", "breakdown_value"}, [2]string{"value_column", "breakdown_value_column"})
	}
	return sqlfiles.Variant(t, uses, v.filtered)
}

// modesSQL renders funnel_modes.sql with the parts q needs for a
// breakdown (as modesVariant).
func (q *funnelQuery) modesSQL(breakdown string) (string, error) {
	t, err := q.modesVariant(breakdown)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("render funnel_modes.sql: %w", err)
	}
	return b.String(), nil
}

// modesDropoffSQL renders funnel_modes_dropoff.sql with q's variant of
// funnel_modes.sql (no breakdown): the list of dropped units, or with next
// the top next events. Step K is its parameter dropoff_step.
func (q *funnelQuery) modesDropoffSQL(next bool) (string, error) {
	t, err := q.modesVariant("")
	if err != nil {
		return "", err
	}
	if t, err = companion(t, "funnel_modes_dropoff"); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "funnel_modes_dropoff.sql", struct{ Next bool }{next}); err != nil {
		return "", fmt.Errorf("render funnel_modes_dropoff.sql: %w", err)
	}
	return b.String(), nil
}
