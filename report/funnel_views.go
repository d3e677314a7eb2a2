package report

import (
	"fmt"

	"github.com/touchstream/touchstream/clickhouse"
)

// Funnel views: BI tools call the funnel by name, as they call the other
// main reports (clickhouse.ReportViews). funnel.sql is a template repeated
// per step, so there is one view per step count: report_funnel_2 ...
// report_funnel_<maxFunnelViewSteps>.
const maxFunnelViewSteps = 8

// FunnelViews returns the parameterized views report_funnel_N, N = 2 ..
// 8: funnel.sql rendered for N steps in mode ordered, counting visitors,
// with the breakdown forms, i.e. the SQL `touchstream report funnel`
// runs for N event steps with a breakdown (an empty breakdown gives the
// plain funnel, as the report without one). Their parameters, all required:
// from, to, site, window_seconds, steps (the labels), step_0 ..
// step_<N-1> (each step's event names), breakdown and breakdown_property
// (sql/README.md). Page steps, property filters, exclusions, per-step
// windows, other modes and --by are the CLI's. `touchstream migrate` and
// `touchstream dev` create them (clickhouse.MigrateConfig.Views).
func FunnelViews() ([]clickhouse.View, error) {
	var out []clickhouse.View
	for n := 2; n <= maxFunnelViewSteps; n++ {
		q, err := funnelVariant{by: ByVisitor, breakdown: true}.render(n)
		if err != nil {
			return nil, err
		}
		out = append(out, clickhouse.View{Name: fmt.Sprintf("report_funnel_%d", n), SQL: q})
	}
	return out, nil
}
