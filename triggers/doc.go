// Package triggers turns a partition's events into journey triggers for
// email and SMS tools (DESIGN.md section 5): Cart Abandoned and Checkout
// Abandoned (no Order Completed by the visitor within the window of the
// cart's first Product Added, or of the Checkout Started), Cart Recovered
// and Checkout Recovered (an order after the abandonment was emitted), and
// Stage Changed (from the processor's stage transitions).
//
// The Engine is pure: its output depends only on the events given, in
// order, and the watermarks given with them (no clock). A replay of the
// same partition from a visitor's first event gives the same triggers with
// the same message ids, so consumers deduplicate replays on message_id.
package triggers
