// Package generate makes a deterministic synthetic clickstream (visitors of
// a small web shop browsing, adding to carts, checking out, coming back to
// finish an abandoned cart, opening and clicking its emails and SMS)
// together with the answers Touchstream's reports must give for it, and
// sends it to a collector the way real tools would: the Segment HTTP API
// for the shop, the pixel for email opens, signed click links for email and
// SMS clicks (Event.Via), at a chosen rate if asked.
//
// The answers (World.Expected) are computed here, in plain Go, straight from
// the generated events and the definitions in DESIGN.md section 5; they share
// no code with the pipeline or its SQL, so an end-to-end test can compare the
// two. Everything is a pure function of Config: the same Seed, Visitors, Days
// and Start give the same events, message ids and answers. The answers do not
// depend on Start at all (only the absolute times and message ids do), nor
// on whether the clicks went through the redirect (recorded when received)
// or the Segment API, as long as the reports' range holds the time they
// were sent (with the default Start, the range up to two days after the
// last day does).
package generate
