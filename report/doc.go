// Package report runs Touchstream's reports against ClickHouse and prints
// them. Every number comes from one named query in sql/queries (funnel.sql,
// abandonment.sql, time_on_site.sql), the same files BI tools can use, with
// every filter bound as a query parameter; this package only fills in the
// parameters, reads the rows into the typed results whose JSON is the
// contract of DESIGN.md section 3, and formats them (Write: table, json,
// csv, html).
//
// The definitions of the numbers are in the comment at the top of each SQL
// file.
package report
