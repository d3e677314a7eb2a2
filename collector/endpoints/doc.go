// Package endpoints adds the collector's protocols beyond the Segment API
// to a collector.Server: the email/SMS pixel (GET /pixel/v1/{track,page}),
// the signed click redirect (GET /r/{token}), the social and chat webhooks
// (POST /v1/webhooks/{source}, one mapping file per source) and the
// Snowplow tracker protocol (POST /com.snowplowanalytics.snowplow/tp2,
// GET /i), and Touchstream's own browser tracker (GET /t.js). cmd/collector and the
// dev stack both wire through Register, so the routes are the same
// everywhere.
package endpoints
