package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// ReportViews maps each parameterized view Migrate keeps to the named query
// (sql/queries/<name>.sql) it is made of. BI tools call a view by name with
// the query's parameters, e.g.
//
//	SELECT * FROM report_time_on_site(from = '2026-11-01 00:00:00.000',
//	    to = '2026-12-01 00:00:00.000', site = '')
//
// Only plain-SQL queries are views here: funnel.sql and stages.sql are Go
// templates rendered per call. Their views (the funnel's, one per step
// count, and report_stages) come rendered from package report
// (report.Views, through MigrateConfig.Views).
var ReportViews = []struct{ View, Query string }{
	{"report_abandonment", "abandonment"},
	{"report_attribution", "attribution"},
	{"report_paths", "paths"},
	{"report_retention", "retention"},
	{"report_segments", "segments"},
	{"report_time_on_site", "time_on_site"},
}

// View is a parameterized view: CREATE OR REPLACE VIEW Name AS SQL.
type View struct {
	Name string
	SQL  string // the query, without a trailing semicolon
}

// statement returns the statement that creates or replaces the view. A
// newline ends a trailing "--" comment of the query before anything that
// follows.
func (v View) statement() string {
	return "CREATE OR REPLACE VIEW " + quoteIdent(v.Name) + " AS\n" + v.SQL + "\n"
}

// reportView returns the view of ReportViews named view, made of the query
// file query as a report without a filter runs it (sqlfiles.Query: its
// header comment is whitespace to ClickHouse), so the view and the report
// run the same SQL.
func reportView(view, query string) (View, error) {
	text, err := sqlfiles.Query(query, false)
	if err != nil {
		return View{}, err
	}
	return View{Name: view, SQL: viewQuery(text)}, nil
}

// viewQuery is a query as a view holds it: without the surrounding white
// space and a trailing semicolon.
func viewQuery(text string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), ";"))
}

// ViewSQL returns the statement that creates or replaces view as the query
// file query: CREATE OR REPLACE VIEW <view> AS <the file's text>.
func ViewSQL(view, query string) (string, error) {
	v, err := reportView(view, query)
	if err != nil {
		return "", err
	}
	return v.statement(), nil
}

// views returns the views MigrateWith keeps: ReportViews, then cfg.Views.
func (cfg MigrateConfig) views() ([]View, error) {
	out := make([]View, 0, len(ReportViews)+len(cfg.Views))
	for _, rv := range ReportViews {
		v, err := reportView(rv.View, rv.Query)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	for _, v := range cfg.Views {
		v.SQL = viewQuery(v.SQL)
		out = append(out, v)
	}
	return out, nil
}

// createViews creates or replaces views, on every node of cluster if it is
// set. MigrateWith calls it after goose on every run, so the views always
// match the files (and templates) the reports run.
func createViews(ctx context.Context, db *sql.DB, cluster, database string, views []View) error {
	for _, v := range views {
		stmt, err := viewStatement(cluster, database, v)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create view %s: %w", v.Name, classify(err))
		}
	}
	return nil
}
