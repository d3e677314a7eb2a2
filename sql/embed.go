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
