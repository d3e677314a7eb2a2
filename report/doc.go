// Package report runs Touchstream's reports against ClickHouse and prints
// them. Every number comes from a named query in sql/queries (funnel.sql,
// abandonment.sql, time_on_site.sql, stages.sql, attribution.sql with
// attribution_totals.sql, retention.sql, segments.sql), the same files BI
// tools can use, with every filter bound as a query parameter; this package
// only fills in the parameters, reads the rows into the typed results whose
// JSON is the contract of DESIGN.md section 3 (the JSON of the attribution,
// retention and segments reports is documented in sql/README.md), and
// formats them (Write: table, json, csv, html). The segments report adds
// its customer rows up per RFM segment here.
//
// The definitions of the numbers are in the comment at the top of each SQL
// file.
package report
