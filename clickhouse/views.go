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
// Only plain-SQL queries can be views: funnel.sql and stages.sql are Go
// templates rendered per call.
var ReportViews = []struct{ View, Query string }{
	{"report_abandonment", "abandonment"},
	{"report_attribution", "attribution"},
	{"report_retention", "retention"},
	{"report_time_on_site", "time_on_site"},
}

// ViewSQL returns the statement that creates or replaces view as the query
// file query: CREATE OR REPLACE VIEW <view> AS <the file's text>. The text
// is used as it is (its header comment is whitespace to ClickHouse), so the
// view and the report run the same SQL.
func ViewSQL(view, query string) (string, error) {
	b, err := sqlfiles.Queries.ReadFile("queries/" + query + ".sql")
	if err != nil {
		return "", fmt.Errorf("read query %s: %w", query, err)
	}
	text := strings.TrimSpace(string(b))
	text = strings.TrimSpace(strings.TrimSuffix(text, ";"))
	// A newline ends a trailing "--" comment before anything that follows.
	return "CREATE OR REPLACE VIEW " + quoteIdent(view) + " AS\n" + text + "\n", nil
}

// createViews creates or replaces every view of ReportViews from the query
// files embedded in this binary. Migrate calls it after goose on every run,
// so the views always match the files the reports run.
func createViews(ctx context.Context, db *sql.DB) error {
	for _, v := range ReportViews {
		stmt, err := ViewSQL(v.View, v.Query)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create view %s: %w", v.View, classify(err))
		}
	}
	return nil
}
