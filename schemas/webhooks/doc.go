// Package webhooks holds the webhook mapping files shipped with Touchstream
// (one *.json per source; see schemas/README.md), embedded so that a binary
// has them wherever it runs. Load them with webhook.LoadFS(webhooks.FS, nil).
// The payloads under examples/ are documentation and test input, not
// embedded.
package webhooks
