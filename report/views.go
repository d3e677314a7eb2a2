package report

import "github.com/touchstream/touchstream/clickhouse"

// Views returns the parameterized views made in this package, which
// `touchstream migrate` and `touchstream dev` create
// (clickhouse.MigrateConfig.Views): the funnel's (FunnelViews),
// report_stages, stages.sql rendered as the report runs it without a
// filter (the texts of abandonment.sql and time_on_site.sql in it), and
// the companion views (companionViews). report_stages takes from, to, site
// and within_seconds, all required.
func Views() ([]clickhouse.View, error) {
	views, err := FunnelViews()
	if err != nil {
		return nil, err
	}
	stages, err := stagesSQL(Filter{})
	if err != nil {
		return nil, err
	}
	views = append(views, clickhouse.View{Name: "report_stages", SQL: stages})
	for _, c := range companionViews {
		q, err := c.sql()
		if err != nil {
			return nil, err
		}
		views = append(views, clickhouse.View{Name: c.view(), SQL: q})
	}
	return views, nil
}

// companionView is a detail table of abandonment or time on site (a
// companion query the report runs with opts.Detail) as a view named
// report_<companion>: the base query's text up to its marker, then the
// companion's, as the report runs it without a filter. It takes its base
// view's parameters: report_abandonment's from, to, site and
// within_seconds, or report_time_on_site's from, to and site.
type companionView struct{ base, companion string }

var companionViews = []companionView{
	{"abandonment", "abandonment_daily"},
	{"abandonment", "abandonment_channels"},
	{"abandonment", "abandonment_recovered_by"},
	{"abandonment", "abandoned_carts"},
	{"time_on_site", "time_on_site_breakdown"},
	{"time_on_site", "time_on_site_histogram"},
}

// companionMarkers is the line of each base query its companions follow.
var companionMarkers = map[string]string{"abandonment": outcomesEnd, "time_on_site": scopeEnd}

// view is the view's name.
func (c companionView) view() string { return "report_" + c.companion }

// sql is the view's query: the report's query text of the companion.
func (c companionView) sql() (string, error) {
	base, err := filteredSQL(c.base, Filter{})
	if err != nil {
		return "", err
	}
	return companionSQL(base, companionMarkers[c.base], c.companion)
}
