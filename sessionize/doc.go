// Package sessionize turns a partition's events into sessions by event time
// (DESIGN.md section 5). It is pure: no I/O, no clock; the processor passes
// in the processing time, which is used only to version the sessions it
// returns. A Sessionizer holds the state of one partition and is not safe
// for concurrent use.
//
// # Rules
//
// A visitor's events are ordered by EventTime; events at the same instant
// are ordered by a 64-bit FNV-1a hash of their MessageID (stable across
// processes, so replays agree). A new session starts when the gap since the
// previous event is longer than Config.Gap; a gap of exactly Gap (30:00 by
// default) stays in the session, 30:00.000000001 does not. A new session also
// starts at the first event at or more than Config.MaxDuration after the
// session's start (24 h by default), however close it follows the previous
// one.
//
// With Config.SplitOnCampaign (off by default), a new session also starts at
// an event that carries a campaign other than the session's own. An event
// carries a campaign when any of its UTMSource, UTMMedium and UTMCampaign is
// non-empty; the session's campaign is the (UTMSource, UTMMedium,
// UTMCampaign) of its first event, the one its row stores, empty for a
// direct session. So a direct session followed by an arrival from a
// campaign splits; campaign A then A again (a reload of the landing page)
// does not, nor A then pages without UTM; A then B splits (Universal
// Analytics' campaign rule). Like the gap and the cap, it never splits
// between events at the same instant: an event carrying another campaign at
// the time of the event before it stays in that event's session (otherwise
// two sessions could start at one instant and share an id). The rule
// depends only on the visitor's events in (time, key) order, so every
// arrival order, restatement and replay gives the same sessions, and it
// needs no state beyond what the gap and the cap keep.
//
// A session's id is SessionID(visitor, first event time), so replaying the
// same events gives the same ids.
//
// A session's fields: Start and End are its first and last event times;
// Events counts its events, PageViews its page and screen events, Conversions
// its Order Completed events and Revenue sums their Revenue; EngagedMS sums
// EngagementMS clamped per event to [0, Config.EngagementCap]; EntryPage and
// ExitPage are the PagePath of its first and last view ("" without views);
// Touchpoint, Channel, the UTM fields and DeviceType come from its first
// event, UserID from its first event that has one.
//
// # Late events and restatement
//
// Events may arrive in any order. Add returns every session that changed: new
// and updated sessions, and a tombstone (Deleted, the removed session's
// fields, a newer Version) for every session whose id disappeared because an
// out-of-order event merged two sessions or moved a start (an event before a
// session's first event, which with SplitOnCampaign may also change the
// session's campaign and so its campaign splits, or a changed 24 h cap
// boundary). Versions increase strictly across all sessions a Sessionizer
// returns, so writing each returned row to a ReplacingMergeTree(version,
// is_deleted) keyed by (visitor_id, session_id) leaves exactly the sessions
// in-order arrival would have produced. An event older than its visitor's
// latest event minus Config.Allowance (24 h by default) is late: it is
// counted and not sessionized. A MessageID already retained for the visitor
// is a duplicate: counted and ignored, even if its time differs (a retry with
// another clock skew correction).
//
// # State and memory
//
// Per visitor the Sessionizer keeps a 32-byte summary of each event (event
// time, a 64-bit hash of the MessageID, capped engaged time, an index to the
// page path or the revenue, an index to the first-event attributes), each
// distinct page path and attribute set once (copied, so no decoder buffer is
// kept alive), 8 bytes per conversion, its live sessions (about 290 bytes
// each) and, past 32 events, a hash set of the MessageID hashes. Measured
// all in: about 770 bytes for a visitor with one event, about 115 bytes per
// retained event at 12 events per visitor (BenchmarkAdd), 70-80 bytes per
// event for visitors with hundreds or thousands. A session followed by one
// that starts before the lateness cutoff can no longer change and is
// dropped with its events, so a visitor active for days keeps about one
// Allowance of events. Expire drops whole visitors whose latest event is
// older than the watermark minus Allowance; their sessions are final.
//
// After Expire has dropped a visitor, a later event of that visitor starts
// afresh: if it is within Gap after the dropped visitor's last event it
// becomes a session of its own instead of extending the old one. Choosing
// the watermark as the partition's highest event time keeps that to events
// that are late by the partition's clock anyway.
package sessionize
