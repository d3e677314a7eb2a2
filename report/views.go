package report

import "github.com/touchstream/touchstream/clickhouse"

// Views returns the parameterized views made in this package, which
// `touchstream migrate` and `touchstream dev` create
// (clickhouse.MigrateConfig.Views): the funnel's (FunnelViews) and
// report_stages, stages.sql rendered as the report runs it without a
// filter (the texts of abandonment.sql and time_on_site.sql in it).
// report_stages takes from, to, site and within_seconds, all required.
func Views() ([]clickhouse.View, error) {
	views, err := FunnelViews()
	if err != nil {
		return nil, err
	}
	stages, err := stagesSQL(Filter{})
	if err != nil {
		return nil, err
	}
	return append(views, clickhouse.View{Name: "report_stages", SQL: stages}), nil
}
