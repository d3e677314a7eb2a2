// Package hostile throws a corpus of hostile and broken requests at every
// collector route and at the embedded ClickHouse's HTTP front, and checks
// that each gets its defined answer (DESIGN.md section 4), that good
// siblings in a batch are kept, that refused events become dead letters, and
// that the process stays up.
package hostile
