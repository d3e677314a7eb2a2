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
//
// # State and memory
//
// The Engine keeps, per visitor with a cart or an order, its carts (a
// closed one, converted or recovered, as its key and status only, so that
// the cart counts once; an abandoned one with its contents, for the
// Recovered trigger) and its orders. It forgets nothing by itself: the
// caller drops a visitor with Forget (or Retain) when the visitor can no
// longer matter. The processor does so when it drops the visitor's other
// state, once the visitor has been idle for longer than the lateness
// allowance (at a flush, or before the visitor's next event), so the
// Engine holds the visitors active within the allowance, as the
// sessionizer does. A cart's window must not exceed the allowance (the
// processor checks it), so every abandonment is emitted before its visitor
// can be forgotten; an order after that recovers nothing, and a cart_id
// seen again after it starts a new cart with the same message ids (which
// consumers deduplicating on message_id drop).
package triggers
