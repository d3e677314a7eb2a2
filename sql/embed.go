// Package sqlfiles embeds the SQL of the storage contract: goose migrations
// (migrations/) and the named report queries (queries/). Everything a report
// prints is computed by one of these files; sql/README.md documents every
// table, view and column.
package sqlfiles

import "embed"

// Migrations holds migrations/*.sql, in goose's format.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Queries holds queries/*.sql, the named report queries.
//
//go:embed queries/*.sql
var Queries embed.FS
