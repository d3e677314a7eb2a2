// Package pipeline will hold Touchstream's domain vocabulary (Event, Session,
// Stage, Funnel, Sink) that the collector, processor and reports share.
// Adapters live in sibling packages named after what they talk to. It is
// empty until the walking skeleton (issue 3) lands.
package pipeline
