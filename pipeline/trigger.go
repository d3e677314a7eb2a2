package pipeline

import "time"

// TopicTriggers carries journey triggers (Trigger as JSON, key = visitor
// id) for email and SMS tools: abandoned carts and checkouts, their
// recoveries, and stage changes.
const TopicTriggers = "journey.triggers"

// Trigger kinds.
const (
	TriggerCartAbandoned     = "Cart Abandoned"
	TriggerCheckoutAbandoned = "Checkout Abandoned"
	TriggerCartRecovered     = "Cart Recovered"
	TriggerCheckoutRecovered = "Checkout Recovered"
	TriggerStageChanged      = "Stage Changed"
)

// Trigger is one journey trigger on TopicTriggers. MessageID is
// deterministic (a hash of the kind, the visitor and the cart key, or the
// stage transition's event for Stage Changed): a replay of the processor
// after a crash publishes the same ids again, and consumers deduplicate on
// it, so each cart triggers each kind once.
type Trigger struct {
	MessageID string    `json:"message_id"`
	Kind      string    `json:"kind"`       // one of the Trigger* kinds
	VisitorID string    `json:"visitor_id"` // anonymousId, else userId
	UserID    string    `json:"user_id,omitempty"`
	EventTime time.Time `json:"event_time"` // abandoned: deadline (start + window); recovered: the order; stage: the event

	// Carts and checkouts.
	CartKey   string    `json:"cart_key,omitempty"`   // cart_id, else "session:" + session id
	CartID    string    `json:"cart_id,omitempty"`    // when the events carried one
	SessionID string    `json:"session_id,omitempty"` // of the cart's first event
	StartedAt time.Time `json:"started_at,omitzero"`  // first Product Added / Checkout Started
	Value     float64   `json:"value,omitempty"`      // sum of price*quantity, else revenue
	Currency  string    `json:"currency,omitempty"`
	Items     []string  `json:"items,omitempty"`    // product ids (else skus), first appearance order
	OrderID   string    `json:"order_id,omitempty"` // recovered: the order

	// Stage Changed.
	FromStage string `json:"from_stage,omitempty"`
	ToStage   string `json:"to_stage,omitempty"`

	SourceMessageID string `json:"source_message_id,omitempty"` // the event that made the trigger (recovered, stage changed) or started the cart
}
