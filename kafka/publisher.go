package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/pipeline"
)

var _ collector.Publisher = (*Publisher)(nil)

// ErrNoBrokers happens when NewPublisher is given an empty broker list and
// the Publisher is then used.
var ErrNoBrokers = errors.New("no kafka brokers configured")

const (
	readyTimeout  = 2 * time.Second // bounds one readiness check
	readyCacheFor = time.Second     // how long a readiness answer is reused
)

// Publisher writes the collector's output to Kafka. It is safe for
// concurrent use; Close waits for writes in flight, then releases the
// connections, after which Publish and Reject fail.
type Publisher struct {
	brokers   []string
	writer    *kafkago.Writer
	client    *kafkago.Client
	transport *kafkago.Transport
	stop      context.CancelFunc
	log       *slog.Logger
	closeOnce sync.Once
	closeErr  error

	ready struct {
		sync.Mutex
		at  time.Time
		err error
	}
}

// NewPublisher returns a Publisher for the cluster reachable through
// brokers (host:port each). It connects lazily, on the first write or
// readiness check. log may be nil.
func NewPublisher(brokers []string, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "kafka-publisher")
	ctx, stop := context.WithCancel(context.Background())
	transport := &kafkago.Transport{
		DialTimeout:    5 * time.Second,
		MetadataTTL:    5 * time.Second,
		MetadataTopics: []string{pipeline.TopicEvents, pipeline.TopicRejected},
		ClientID:       "touchstream-collector",
		Context:        ctx,
	}
	addr := kafkago.TCP(brokers...)
	p := &Publisher{
		brokers:   append([]string(nil), brokers...),
		transport: transport,
		stop:      stop,
		log:       log,
		client:    &kafkago.Client{Addr: addr, Transport: transport, Timeout: readyTimeout},
	}
	p.writer = &kafkago.Writer{
		Addr:         addr,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		// A partition's partial batch waits at most this long for more
		// messages. Every request waits for its events' batches, so this
		// is latency added to each answer: 1 ms halved the p50 against
		// 5 ms, and 100 us more than doubled the single-event rate of 16
		// clients against 1 ms, at no measurable CPU cost (BENCHMARKS.md,
		// "Collector speed-ups", changes 6 and 7). Under load batches fill
		// before it anyway.
		BatchTimeout: 100 * time.Microsecond,
		// Retries of a batch outlive a cancelled WriteMessages and hold up
		// Close: keep them to about 1.5 s of back-off.
		MaxAttempts:     5,
		WriteBackoffMin: 100 * time.Millisecond,
		WriteBackoffMax: time.Second,
		Transport:       transport,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			log.Warn("kafka write failed", "detail", fmt.Sprintf(msg, args...))
		}),
	}
	return p
}

// Publish writes events to pipeline.TopicEvents, each keyed by its
// VisitorID, and returns once Kafka has acknowledged all of them. On error
// some may have been written anyway (a retry may duplicate them; consumers
// deduplicate on MessageID). If ctx ends first, the error is ctx's. An
// error Kafka will give again for the same events (see permanent) is a
// *collector.PermanentError. The values are pipeline.Event.AppendJSON's,
// the bytes json.Marshal would give.
func (p *Publisher) Publish(ctx context.Context, events []pipeline.Event) error {
	if len(events) == 0 {
		return nil
	}
	enc := getEncoding(len(events))
	var err error
	for i := range events {
		if enc.buf, err = events[i].AppendJSON(enc.buf); err != nil {
			putEncoding(enc)
			return fmt.Errorf("encode event %d: %w", i, err)
		}
		mid := len(enc.buf)
		enc.buf = append(enc.buf, events[i].VisitorID...)
		enc.ends = append(enc.ends, mid, len(enc.buf))
	}
	msgs := enc.messages(pipeline.TopicEvents, true)
	if err := p.write(ctx, msgs); err != nil {
		return fmt.Errorf("publish %d events to %s: %w", len(msgs), pipeline.TopicEvents, err)
	}
	putEncoding(enc)
	return nil
}

// Reject writes dead letters to pipeline.TopicRejected (no key, spread over
// the partitions) and returns once Kafka has acknowledged all of them. The
// values are pipeline.Rejected.AppendJSON's.
func (p *Publisher) Reject(ctx context.Context, rejected []pipeline.Rejected) error {
	if len(rejected) == 0 {
		return nil
	}
	enc := getEncoding(len(rejected))
	var err error
	for i := range rejected {
		if enc.buf, err = rejected[i].AppendJSON(enc.buf); err != nil {
			putEncoding(enc)
			return fmt.Errorf("encode dead letter %d: %w", i, err)
		}
		enc.ends = append(enc.ends, len(enc.buf), len(enc.buf))
	}
	msgs := enc.messages(pipeline.TopicRejected, false)
	if err := p.write(ctx, msgs); err != nil {
		return fmt.Errorf("publish %d dead letters to %s: %w", len(msgs), pipeline.TopicRejected, err)
	}
	putEncoding(enc)
	return nil
}

// encoding holds one write's messages: every value (and key) encoded
// back to back in buf, ends[2i] the end of message i's value and
// ends[2i+1] the end of its key. It is reused through encodings, but
// only after a write that returned nil: kafka-go keeps the messages until
// WriteMessages returns, and beyond it when ctx ends first (the batches
// stay queued), so after an error the encoding is left to the collector.
type encoding struct {
	buf  []byte
	ends []int
	msgs []kafkago.Message
}

// maxPooledBytes is the largest buffer put back in encodings: a rare huge
// write does not pin its memory.
const maxPooledBytes = 4 << 20

var encodings = sync.Pool{New: func() any { return new(encoding) }}

func getEncoding(n int) *encoding {
	enc := encodings.Get().(*encoding)
	enc.buf, enc.ends = enc.buf[:0], enc.ends[:0]
	if cap(enc.msgs) < n {
		enc.msgs = make([]kafkago.Message, n)
	}
	enc.msgs = enc.msgs[:n]
	return enc
}

func putEncoding(enc *encoding) {
	if cap(enc.buf) > maxPooledBytes {
		return
	}
	clear(enc.msgs) // drop the references kafka-go may have set (partition, offset, ...)
	encodings.Put(enc)
}

// messages slices buf into the messages, with keys when keyed; buf is
// complete, so no later append moves it.
func (enc *encoding) messages(topic string, keyed bool) []kafkago.Message {
	start := 0
	for i := range enc.msgs {
		valueEnd, keyEnd := enc.ends[2*i], enc.ends[2*i+1]
		m := kafkago.Message{Topic: topic, Value: enc.buf[start:valueEnd:valueEnd]}
		if keyed {
			m.Key = enc.buf[valueEnd:keyEnd:keyEnd]
		}
		enc.msgs[i] = m
		start = keyEnd
	}
	return enc.msgs
}

func (p *Publisher) write(ctx context.Context, msgs []kafkago.Message) error {
	if len(p.brokers) == 0 {
		return ErrNoBrokers
	}
	err := p.writer.WriteMessages(ctx, msgs...)
	if err != nil && permanent(err) {
		perm := &collector.PermanentError{Err: err}
		// Messages kafka-go reports written are written; the others may
		// have been refused with the record batch of a bad one.
		var each kafkago.WriteErrors
		if errors.As(err, &each) && len(each) == len(msgs) {
			for i, e := range each {
				if e != nil {
					perm.Unwritten = append(perm.Unwritten, i)
				}
			}
		}
		return perm
	}
	return err
}

// permanent reports whether Kafka refused records for good: a record (or
// the record batch holding it) larger than the topic's max.message.bytes,
// or the writer's BatchBytes, an invalid record, an invalid topic. Other
// errors, an unknown one included, are worth retrying; for per-message
// errors (kafkago.WriteErrors) one refusal for good is enough, since the
// whole write must then be split to find the record at fault.
func permanent(err error) bool {
	var tooLarge kafkago.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	var each kafkago.WriteErrors
	if errors.As(err, &each) {
		for _, e := range each {
			if e != nil && permanent(e) {
				return true
			}
		}
		return false
	}
	var code kafkago.Error
	if errors.As(err, &code) {
		switch code {
		case kafkago.MessageSizeTooLarge, kafkago.RecordListTooLarge, kafkago.InvalidRecord, kafkago.InvalidTopic:
			return true
		}
	}
	return false
}

// Ready reports whether a broker answers a request and the cluster has both
// of the pipeline's topics. The answer is kept for a second, so it is cheap
// enough for a readiness probe.
func (p *Publisher) Ready(ctx context.Context) error {
	if len(p.brokers) == 0 {
		return ErrNoBrokers
	}
	p.ready.Lock()
	defer p.ready.Unlock()
	if !p.ready.at.IsZero() && time.Since(p.ready.at) < readyCacheFor {
		return p.ready.err
	}
	p.ready.err = p.checkReady(ctx)
	p.ready.at = time.Now()
	return p.ready.err
}

func (p *Publisher) checkReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// Metadata is served from the pool's cache, which keeps the last known
	// layout through failures; ApiVersions always goes to a broker.
	if _, err := p.client.ApiVersions(ctx, &kafkago.ApiVersionsRequest{}); err != nil {
		return fmt.Errorf("kafka unreachable: %w", err)
	}
	md, err := p.client.Metadata(ctx, &kafkago.MetadataRequest{
		Topics: []string{pipeline.TopicEvents, pipeline.TopicRejected},
	})
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	found := 0
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("kafka topic %s: %w", t.Name, t.Error)
		}
		if len(t.Partitions) == 0 {
			return fmt.Errorf("kafka topic %s: no partitions", t.Name)
		}
		found++
	}
	if found < 2 {
		return fmt.Errorf("kafka topics %s, %s: not all found", pipeline.TopicEvents, pipeline.TopicRejected)
	}
	return nil
}

// Close flushes and waits for writes in flight, then closes the
// connections. It is safe to call more than once.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.writer.Close()
		p.transport.CloseIdleConnections()
		p.stop()
	})
	return p.closeErr
}
