package webhooks

import "embed"

// FS holds the shipped mapping files at its root.
//
//go:embed *.json
var FS embed.FS
