// Package gif holds the collector's 1x1 transparent GIF, the answer of the
// endpoints an <img> calls (the pixel, Snowplow's GET /i), and writes it
// uncacheable, so that every load reaches the collector.
package gif
