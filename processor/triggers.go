package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
// due since the last flush, in the order of the events that made them.
//
// The engine holds the carts and orders of the visitors the partition
// holds, and no others: a visitor's trigger state is made with its journey
// (trigger runs after stage for every event the sessionizer takes) and
// forgotten with it, when the visitor has been idle for longer than the
// allowance (expireJourneys): at a flush, or before the visitor's next
// event if it comes first (stale). So the engine's memory is bounded by
// the visitors active within the allowance, as the sessionizer's is, and
// what an event does to it never depends on where batches were cut: a
// replay, which cuts them elsewhere, publishes the same triggers. An event
// within the allowance finds its visitor's carts; forgetting them loses no
// trigger, since a cart's window (T <= the allowance) ended before then.
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

// triggerState returns the partition's trigger state, made on first use;
// nil when no trigger sink is configured.
func (pt *partition) triggerState() *partTriggers {
	if pt.p.cfg.Triggers == nil {
		return nil
	}
	if pt.trig == nil {
		pt.trig = &partTriggers{eng: triggers.New(pt.p.cfg.TriggerWindow)}
	}
	return pt.trig
}

// trigger folds an event the sessionizer took into the trigger state. Call
// it after pt.newest includes the event.
func (pt *partition) trigger(e *pipeline.Event) {
	tg := pt.triggerState()
	if tg == nil {
		return
	}
	sid := ""
	if e.CartID == "" && e.Type == pipeline.TypeTrack && (e.EventName == pipeline.EventProductAdded || e.EventName == pipeline.EventCheckoutStarted) {
		sid = pt.sz.SessionOf(e.VisitorID, e.MessageID)
	}
	tg.out = append(tg.out, tg.eng.Event(e, sid, pt.newest)...)
}

// idleAdvance fires the cart triggers due by wall time on a quiet
// partition (Config.IdleAdvance): when the partition has read every
// message it has and none came for IdleAdvance, the carts whose window
// ended before now - IdleAdvance are abandoned, as if an event of that
// time had come. Event time alone would leave them pending until the
// partition's next event, however late that is. The wall clock makes this
// the one trigger decision that depends on when the processor runs, not
// only on the events: an order that arrives after such an abandonment but
// happened before the deadline recovers the cart (Cart Recovered), where
// reading both at once would have counted it converted. A replay repeats
// what it can: its triggers keep their deterministic message ids.
//
// It runs at the flush ticks (Config.FlushInterval), which is also how
// quiet is told: the partition has been quiet since the first tick that
// found its next offset where it is now, so the clock is read once a tick,
// not once a message, and IdleAdvance counts from up to one tick after the
// last message.
func (pt *partition) idleAdvance(now time.Time) {
	if pt.next != pt.quietAt {
		pt.quietAt, pt.quietSince = pt.next, now
		return
	}
	d := pt.p.cfg.IdleAdvance
	if pt.trig == nil || d <= 0 || pt.next < pt.hwm || now.Sub(pt.quietSince) < d {
		return
	}
	if w := now.Add(-d); w.After(pt.newest) {
		pt.trig.out = append(pt.trig.out, pt.trig.eng.Advance(w)...)
	}
}

// stageChanged adds the Stage Changed trigger of a stage transition the
// event e made. Its session is e's as the event was taken (the cart
// triggers' too): the stage_transitions row gets the session as of the
// flush, which a later out-of-order event of the same batch may have
// moved, and a replay that cuts the batch elsewhere would publish the same
// message id with another session.
func (pt *partition) stageChanged(tr pipeline.StageTransition, e *pipeline.Event) {
	tg := pt.triggerState()
	if tg == nil {
		return
	}
	tr.SessionID = e.SessionID
	tg.out = append(tg.out, triggers.StageChanged(tr))
}

// batchTriggers returns a copy of the batch's triggers to publish.
func (pt *partition) batchTriggers() []pipeline.Trigger {
	if pt.trig == nil || len(pt.trig.out) == 0 {
		return nil
	}
	return slices.Clone(pt.trig.out)
}

// flushedTriggers clears the triggers handed to the writer.
func (pt *partition) flushedTriggers() {
	if pt.trig != nil {
		pt.trig.out = pt.trig.out[:0]
	}
}

// forgetTriggers drops a visitor's trigger state (see partTriggers).
func (pt *partition) forgetTriggers(visitor string) {
	if pt.trig != nil {
		pt.trig.eng.Forget(visitor)
	}
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
