// Package clickhouse serves ClickHouse's own HTTP interface in front of the
// embedded engine (package chdb), so that clickhouse-go/v2 in HTTP mode,
// curl and BI tools (Grafana, Superset, Metabase) talk to it exactly as to a
// ClickHouse server on port 8123.
//
// What it implements of the interface: /ping, GET (read-only) and POST
// queries, SQL in the query parameter and/or the body, INSERT with data in the
// body in any input format (streamed into the engine, so blank lines and
// binary data survive), default_format, X-ClickHouse-Format, database,
// session_id (SET, USE and temporary tables stick to a session), settings as
// URL parameters, param_<name> query parameters, compress/decompress
// (ClickHouse's compressed-block framing, LZ4/ZSTD), HTTP Content-Encoding
// (gzip, deflate, br, zstd, lz4) on requests and, with enable_http_compression=1,
// on responses, X-ClickHouse-Summary, X-ClickHouse-Exception-Code, HTTP status
// by error code, and the 25.11+ in-band exception framing for errors after the
// response has started. Multi-statement requests are refused as ClickHouse
// refuses them. Queries run in parallel on a bounded pool of engine
// connections.
//
// The engine's Native output is revision 0. clickhouse-go decodes its
// handshake query (SELECT displayName(), version(), revision(), timezone())
// at the revision it asked for, so that one answer is encoded here at the
// client's revision with revision() = 0; every later block then passes
// through unchanged.
//
// Safety: an open port on the engine can read and write any file the process
// can (file(), INSERT INTO FUNCTION file), so Config.Validate refuses a
// non-loopback listen address without a password.
package clickhouse
