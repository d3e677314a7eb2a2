package processor

import "github.com/touchstream/touchstream/pipeline"

// DecodeEvent is the processor's decoder of a message value of the events
// topic, for BenchmarkProcessor's floor run (package processor_test).
func DecodeEvent(b []byte, e *pipeline.Event) error { return decodeEvent(b, e) }
