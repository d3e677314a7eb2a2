// Package chdb is a small Go binding to libchdb, the ClickHouse engine built
// as a shared library. It loads the library at run time with purego (no cgo
// needed), so a binary built without the library still starts and reports a
// clear error when the library is missing.
//
// One process holds one storage path. Many connections to that path may be
// open at once and run queries in parallel; a single connection runs its
// statements one at a time, and SET, USE and temporary tables stick to it.
//
// Every call that can fail returns an *Error carrying the ClickHouse error
// code and name parsed from the engine's message.
package chdb
