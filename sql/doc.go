// Package sqlfiles embeds the SQL of the storage contract: goose migrations
// (migrations/) and the named report queries (queries/). Everything a report
// prints is computed by one of these files; sql/README.md documents every
// table, view and column.
package sqlfiles
