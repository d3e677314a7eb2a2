package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/sessionize"
	"github.com/touchstream/touchstream/triggers"
)

// TriggerSink receives the journey triggers of a batch (package triggers)
// before the batch's offsets are committed. Triggers carry deterministic
// message ids: a replay after a crash publishes some again, with the same
// ids, and consumers deduplicate on them. It must be safe for concurrent use
// by the partition goroutines.
type TriggerSink interface {
	PublishTriggers(ctx context.Context, ts []pipeline.Trigger) error
}

// partTriggers is a partition's trigger state: the engine and the triggers
// due since the last flush.
type partTriggers struct {
	eng *triggers.Engine
	out []pipeline.Trigger
}

// validateTriggers checks the trigger settings: a cart's window must end
// before its visitor's state may expire (the allowance), so that every
// abandonment is emitted while the state a replay rebuilds is held.
func (c Config) validateTriggers() error {
	if c.Triggers == nil {
		return nil
	}
	w := c.TriggerWindow
	if w <= 0 {
		w = triggers.DefaultWindow
	}
	a := c.Session.Allowance
	if a <= 0 {
		a = sessionize.DefaultAllowance
	}
	if w > a {
		return fmt.Errorf("trigger window: %s must not exceed the late-event allowance %s", w, a)
	}
	return nil
}

// trigger folds an event the sessionizer took into the trigger state. Call
// it after pt.newest includes the event.
func (pt *partition) trigger(e *pipeline.Event) {
	if pt.p.cfg.Triggers == nil {
		return
	}
	if pt.trig == nil {
		pt.trig = &partTriggers{eng: triggers.New(pt.p.cfg.TriggerWindow)}
	}
	sid := ""
	if e.CartID == "" && e.Type == pipeline.TypeTrack && (e.EventName == pipeline.EventProductAdded || e.EventName == pipeline.EventCheckoutStarted) {
		sid = pt.sz.SessionOf(e.VisitorID, e.MessageID)
	}
	pt.trig.out = append(pt.trig.out, pt.trig.eng.Event(e, sid, pt.newest)...)
}

// batchTriggers returns the batch's triggers to publish: the carts' and one
// Stage Changed per stage transition of the batch.
func (pt *partition) batchTriggers() []pipeline.Trigger {
	if pt.p.cfg.Triggers == nil {
		return nil
	}
	var ts []pipeline.Trigger
	if pt.trig != nil {
		ts = append(ts, pt.trig.out...)
	}
	for _, tr := range pt.transitions {
		ts = append(ts, triggers.StageChanged(tr))
	}
	return ts
}

// flushedTriggers clears the published triggers and drops the state of
// visitors the partition no longer holds (after expireJourneys).
func (pt *partition) flushedTriggers() {
	if pt.trig == nil {
		return
	}
	pt.trig.out = pt.trig.out[:0]
	pt.trig.eng.Retain(func(v string) bool { return pt.stages[v] != nil })
}

// KafkaTriggers publishes triggers to a Kafka topic as JSON keyed by
// visitor id.
type KafkaTriggers struct {
	w *kafkago.Writer
}

// NewKafkaTriggers returns a TriggerSink writing to topic
// (pipeline.TopicTriggers if "") on the cluster at brokers.
func NewKafkaTriggers(brokers []string, topic string) *KafkaTriggers {
	if topic == "" {
		topic = pipeline.TopicTriggers
	}
	return &KafkaTriggers{w: &kafkago.Writer{
		Addr:                   kafkago.TCP(brokers...),
		Topic:                  topic,
		Balancer:               &kafkago.Hash{},
		RequiredAcks:           kafkago.RequireAll,
		BatchTimeout:           5 * time.Millisecond,
		MaxAttempts:            5,
		AllowAutoTopicCreation: true,
	}}
}

// PublishTriggers implements TriggerSink.
func (k *KafkaTriggers) PublishTriggers(ctx context.Context, ts []pipeline.Trigger) error {
	msgs := make([]kafkago.Message, len(ts))
	for i, t := range ts {
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("encode trigger: %w", err)
		}
		msgs[i] = kafkago.Message{Key: []byte(t.VisitorID), Value: b}
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publish %d triggers: %w", len(ts), err)
	}
	return nil
}

// Close flushes and closes the writer.
func (k *KafkaTriggers) Close() error { return k.w.Close() }
