package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/channel"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/sessionize"
	"github.com/touchstream/touchstream/stage"
)

// Sink writes processed rows. Implementations must be safe for concurrent
// use by the partition goroutines; a write with a token already written must
// land once (idempotent).
type Sink interface {
	WriteEvents(ctx context.Context, events []pipeline.Event, token string) error
	WriteSessions(ctx context.Context, sessions []pipeline.Session, token string) error
	WriteStageTransitions(ctx context.Context, ts []pipeline.StageTransition, token string) error
	WriteIdentities(ctx context.Context, ids []pipeline.Identity, token string) error
}

// Config configures a processor.
type Config struct {
	Brokers       []string
	GroupID       string
	Topic         string
	BatchSize     int           // events per write of all partitions of the process, at most
	FlushInterval time.Duration // a non-empty batch is written at least this often
	Session       sessionize.Config
	Stages        *stage.Rules // journey stage rules; nil means stage.Default()
	Logger        *slog.Logger
	Triggers      TriggerSink   // journey triggers (triggers.go); nil: none
	TriggerWindow time.Duration // T of cart abandonment; 0: triggers.DefaultWindow
	// IdleAdvance lets journey triggers fire on a quiet partition: once a
	// partition has read every message it has and received none for
	// IdleAdvance, the carts whose window ended before wall time minus
	// IdleAdvance are abandoned then, instead of when a later event's time
	// passes their deadline (triggers.go). 0: only event time fires them.
	IdleAdvance time.Duration

	// SessionTimeout is the consumer group session timeout: a member not
	// heard from for this long is dropped from the group by the broker.
	// It is the rebalance timeout too; heartbeats go every third of it (at
	// most every second). 0: 10 s.
	SessionTimeout time.Duration
	// ShutdownTimeout bounds the retries of a write once Run's context is
	// done: a batch still unwritten then is given up, its offsets are not
	// committed (they replay on the next start) and Run returns
	// ErrShutdownUnwritten. 0: 30 s.
	ShutdownTimeout time.Duration
}

// ErrShutdownUnwritten is returned by Run when the process was stopped
// while a write was failing and ShutdownTimeout ran out before it
// succeeded: the rows of the batches given up were not written and their
// offsets not committed, so the next start replays them.
var ErrShutdownUnwritten = errors.New("stopped with unwritten batches; their offsets are not committed and replay on the next start")

// DefaultConfig returns the defaults of the processor command.
func DefaultConfig() Config {
	return Config{
		Brokers:         []string{"127.0.0.1:9092"},
		GroupID:         "touchstream-processor",
		Topic:           pipeline.TopicEvents,
		BatchSize:       40000,
		FlushInterval:   time.Second,
		Session:         sessionize.DefaultConfig(),
		IdleAdvance:     time.Minute,
		SessionTimeout:  10 * time.Second,
		ShutdownTimeout: 30 * time.Second,
	}
}

// Validate checks the configuration and names the field at fault.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("kafka brokers: at least one is needed")
	case c.GroupID == "":
		return errors.New("group id: must not be empty")
	case c.Topic == "":
		return errors.New("topic: must not be empty")
	case c.BatchSize < 1:
		return fmt.Errorf("batch size: must be at least 1, got %d", c.BatchSize)
	case c.FlushInterval <= 0:
		return fmt.Errorf("flush interval: must be positive, got %s", c.FlushInterval)
	case c.SessionTimeout != 0 && c.SessionTimeout < time.Second:
		return fmt.Errorf("session timeout: must be at least 1s, got %s", c.SessionTimeout)
	case c.ShutdownTimeout < 0:
		return fmt.Errorf("shutdown timeout: must not be negative, got %s", c.ShutdownTimeout)
	case c.IdleAdvance < 0:
		return fmt.Errorf("idle advance: must not be negative, got %s", c.IdleAdvance)
	}
	if err := c.Session.Validate(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return c.validateTriggers()
}

// Processor consumes clickstream.events as a member of a consumer group.
type Processor struct {
	cfg  Config
	sink Sink
	log  *slog.Logger
	m    *metrics
	w    *writer // the partitions' batches, merged
	// client commits and fetches offsets with their watermarks (offsets.go).
	client *kafkago.Client

	// hard ends ShutdownTimeout after Run's context: writes are retried
	// until then (see writer). Set by Run before any partition starts.
	hard context.Context
	// abandoned is set when a write was given up because hard ended.
	abandoned atomic.Bool

	// kick is closed (and replaced) to make every partition flush now:
	// every FlushInterval, and when a partition's batch is full, so that
	// the partitions' batches go out in one write.
	kick atomic.Pointer[chan struct{}]
}

// flushAll makes every partition flush.
func (p *Processor) flushAll() {
	c := make(chan struct{})
	close(*p.kick.Swap(&c))
}

// tick calls flushAll every FlushInterval until ctx is done.
func (p *Processor) tick(ctx context.Context) {
	t := time.NewTicker(p.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.flushAll()
		case <-ctx.Done():
			return
		}
	}
}

// New makes a processor writing to sink.
func New(cfg Config, sink Sink, reg prometheus.Registerer) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Stages == nil {
		cfg.Stages = stage.Default()
	}
	if d := DefaultConfig(); cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = d.SessionTimeout
	}
	if d := DefaultConfig(); cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = d.ShutdownTimeout
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	p := &Processor{cfg: cfg, sink: sink, log: cfg.Logger.With("component", "processor"), m: m}
	p.w = newWriter(p)
	p.client = &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...), Timeout: commitTimeout}
	kick := make(chan struct{})
	p.kick.Store(&kick)
	return p, nil
}

// Run joins the group and processes assigned partitions until ctx is done.
// On a rebalance every partition goroutine writes what it holds, commits and
// stops before the next generation starts.
//
// When the group cannot be joined or the member was dropped from it (Kafka
// unreachable longer than SessionTimeout, for one), the generation is over
// (its partitions have written what they held; commits may have failed)
// and Run joins again, with backoff, for as long as it takes: the next
// generation's partitions rebuild their state by replaying from the
// committed offsets, as after a rebalance.
//
// Once ctx is done, writes are retried for ShutdownTimeout more; if a
// batch is still unwritten then, Run returns ErrShutdownUnwritten.
func (p *Processor) Run(ctx context.Context) error {
	group, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                    p.cfg.GroupID,
		Brokers:               p.cfg.Brokers,
		Topics:                []string{p.cfg.Topic},
		StartOffset:           kafkago.FirstOffset,
		HeartbeatInterval:     min(time.Second, p.cfg.SessionTimeout/3),
		SessionTimeout:        p.cfg.SessionTimeout,
		RebalanceTimeout:      p.cfg.SessionTimeout,
		JoinGroupBackoff:      500 * time.Millisecond,
		WatchPartitionChanges: true,
	})
	if err != nil {
		return fmt.Errorf("join consumer group %s: %w", p.cfg.GroupID, err)
	}
	hard, stopHard := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHard()
	p.hard = hard
	stopAfter := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.cfg.ShutdownTimeout, stopHard)
		<-hard.Done()
		t.Stop()
	})
	defer stopAfter()
	p.log.Info("processor started", "group", p.cfg.GroupID, "topic", p.cfg.Topic, "brokers", p.cfg.Brokers)
	tctx, stopTick := context.WithCancel(ctx)
	defer stopTick()
	go p.tick(tctx)
	err = p.generations(ctx, group)
	// Close waits for the partitions of the last generation: their final
	// flushes end within ShutdownTimeout.
	group.Close()
	if err != nil {
		return err
	}
	if p.abandoned.Load() {
		p.log.Error("processor stopped with unwritten batches", "shutdown_timeout", p.cfg.ShutdownTimeout, "err", ErrShutdownUnwritten)
		return ErrShutdownUnwritten
	}
	p.log.Info("processor stopped")
	return nil
}

// generations starts the partitions of each generation of group until ctx
// is done, joining again after errors (see Run).
func (p *Processor) generations(ctx context.Context, group *kafkago.ConsumerGroup) error {
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(500*time.Millisecond),
		backoff.WithMaxInterval(30*time.Second),
		backoff.WithMaxElapsedTime(0),
	)
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, kafkago.ErrGroupClosed):
				return fmt.Errorf("next generation: %w", err)
			}
			wait := bo.NextBackOff()
			p.m.rejoins.Inc()
			p.log.Warn("consumer group lost, joining again", "group", p.cfg.GroupID, "err", err, "backoff", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		bo.Reset()
		assigned := gen.Assignments[p.cfg.Topic]
		p.log.Info("partitions assigned", "generation", gen.ID, "count", len(assigned))
		// A partition's share of BatchSize: when one partition's batch
		// reaches it, all partitions flush (together, in one write).
		share := max(1, p.cfg.BatchSize/max(1, len(assigned)))
		for _, a := range assigned {
			part := p.newPartition(gen, a.ID, share, a.Offset)
			gen.Start(func(gctx context.Context) { part.run(ctx, gctx) })
		}
	}
}

// newPartition returns the state of partition id of gen, assigned from
// offset, flushing at share events.
func (p *Processor) newPartition(gen *kafkago.Generation, id, share int, offset int64) *partition {
	label := strconv.Itoa(id)
	return &partition{p: p, gen: gen, id: id, label: label, gauges: p.m.partition(label), share: share,
		offset: offset, written: offset, committed: offset, run0: time.Now().UnixNano(),
		sz: sessionize.New(p.cfg.Session), stages: make(map[string]*journey),
		sessions: make(map[string]pipeline.Session), pending: make(map[string][]int)}
}

// partition is the state of one assigned partition.
type partition struct {
	p      *Processor
	gen    *kafkago.Generation
	id     int
	label  string // id as a metric label
	share  int    // events per batch at most (see Run)
	offset int64
	sz     *sessionize.Sessionizer

	events      []pipeline.Event
	pending     map[string][]int            // indexes in events of each visitor's events
	sessions    map[string]pipeline.Session // changed since the last write, newest version each
	transitions []pipeline.StageTransition
	stages      map[string]*journey // per visitor
	identities  []pipeline.Identity // identity links to write with the batch
	links       map[string]*links   // per visitor; made on first use
	first       int64               // offset of the first message in the batch
	next        int64               // offset of the message after the last one read
	cur         int64               // offset of the message being added
	run0        int64               // when the partition was assigned (Unix ns): names this run in tokens
	written     int64               // next as of the last successful flush
	committed   int64               // offset committed last (or assigned at the start)
	committedW  time.Time           // the watermark before committed (see needed)
	gone        []span              // expired visitors a replay from committed could reach
	newest      time.Time           // newest event time seen: the partition's watermark
	hwm         int64               // the partition's high watermark as of the last message read
	quietAt     int64               // next as of the tick since which nothing was read (idleAdvance)
	quietSince  time.Time           // that tick's time
	gauges      partGauges          // this partition's gauges
	trig        *partTriggers       // journey triggers; nil until the first event when configured
}

// run reads the partition until the generation or the process ends.
func (pt *partition) run(ctx, gctx context.Context) {
	log := pt.p.log.With("partition", pt.id)
	defer pt.p.m.forget(pt.label)
	// Stop reading when either the generation or the process ends.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-gctx.Done():
		case <-rctx.Done():
		}
		cancel()
	}()
	if err := pt.restoreWatermark(rctx); err != nil {
		if rctx.Err() != nil {
			return
		}
		// Lateness is then decided from the replayed messages alone.
		log.Error("committed watermark unreadable, replaying without it", "offset", pt.offset, "err", err)
	}
	log.Info("partition run started", "offset", pt.offset, "generation", pt.gen.ID, "watermark", pt.newest)
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   pt.p.cfg.Brokers,
		Topic:     pt.p.cfg.Topic,
		Partition: pt.id,
		MinBytes:  1,
		MaxBytes:  8 << 20,
		MaxWait:   200 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(pt.offset); err != nil {
		log.Error("set offset", "offset", pt.offset, "err", err)
		return
	}
	msgs := make(chan kafkago.Message, 1024)
	readErr := make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			m, err := r.ReadMessage(rctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-rctx.Done():
				return
			}
		}
	}()
	for {
		kick := *pt.p.kick.Load()
		select {
		case m, ok := <-msgs:
			if !ok {
				pt.finalFlush(ctx, log)
				select {
				case err := <-readErr:
					if !errors.Is(err, context.Canceled) && !errors.Is(err, kafkago.ErrGenerationEnded) {
						log.Warn("read partition", "err", err)
					}
				default:
				}
				return
			}
			pt.add(m)
			if len(pt.events) >= pt.share {
				pt.p.flushAll()
				if !pt.flushOrStop(ctx, rctx, log) {
					return
				}
			}
		case <-kick:
			pt.idleAdvance(time.Now())
			if !pt.flushOrStop(ctx, rctx, log) {
				return
			}
		}
	}
}

// flushOrStop writes the batch and reports whether to go on. A write cut
// short because the partition was revoked (or the process is stopping) is
// not a failure: what is held gets its final flush.
func (pt *partition) flushOrStop(ctx, rctx context.Context, log *slog.Logger) bool {
	err := pt.flush(rctx)
	switch {
	case err == nil:
		return true
	case rctx.Err() != nil:
		pt.finalFlush(ctx, log)
	default:
		log.Error("flush", "err", err)
	}
	return false
}

// finalFlush writes what the partition holds when its reader ends (the
// generation or the process is over). Committing may fail if the generation
// is gone; the next owner then replays and rewrites the same rows, which
// land once.
func (pt *partition) finalFlush(ctx context.Context, log *slog.Logger) {
	if err := pt.flush(context.WithoutCancel(ctx)); err != nil {
		log.Warn("final flush", "err", err)
	}
}

// add decodes one message and folds it into the batch.
func (pt *partition) add(m kafkago.Message) {
	if len(pt.events) == 0 {
		pt.first = m.Offset
	}
	pt.next = m.Offset + 1
	pt.cur = m.Offset
	pt.hwm = m.HighWaterMark
	if m.HighWaterMark > 0 {
		pt.gauges.lagMessages.Set(float64(max(m.HighWaterMark-pt.next, 0)))
	}
	var e pipeline.Event
	if err := decodeEvent(m.Value, &e); err != nil || e.MessageID == "" || e.VisitorID == "" || e.EventTime.IsZero() {
		pt.p.m.events.WithLabelValues("invalid").Inc()
		pt.p.log.Warn("undecodable event skipped", "partition", pt.id, "offset", m.Offset, "err", err)
		return
	}
	if pt.stale(e.VisitorID) {
		pt.expire()
	}
	if j := pt.stages[e.VisitorID]; j != nil {
		j.to = m.Offset // duplicates and late events too: see needed
	}
	if e.Channel == "" {
		e.Channel = channel.Classify(&e)
	}
	// Older than the partition's watermark minus the allowance: the
	// visitor's state may already be expired, so sessionizing it would start
	// a stray session. Keep it in events only (DESIGN.md section 5).
	if !pt.newest.IsZero() && e.EventTime.Before(pt.newest.Add(-pt.allowance())) {
		pt.p.m.events.WithLabelValues("late").Inc()
		pt.stage(&e)
		pt.identify(&e)
		pt.events = append(pt.events, e)
		return
	}
	before := pt.sz.Stats()
	changed := pt.sz.Add(e, time.Now())
	after := pt.sz.Stats()
	if after.Restated > before.Restated {
		pt.p.m.restated.Add(float64(after.Restated - before.Restated))
	}
	switch {
	case after.Duplicates > before.Duplicates:
		pt.p.m.events.WithLabelValues("duplicate").Inc()
		return
	case after.Late > before.Late:
		pt.p.m.events.WithLabelValues("late").Inc() // kept in events, not sessionized
	default:
		pt.p.m.events.WithLabelValues("written").Inc()
	}
	// The event's session as of now. The sessionizer may drop the session
	// (pruned as final) before the batch is written, so it is kept with
	// the event, and refreshed while the visitor's sessions are restated.
	if id := pt.sz.SessionOf(e.VisitorID, e.MessageID); id != "" {
		e.SessionID = id
	}
	restated := false
	for _, s := range changed {
		pt.sessions[s.SessionID] = s
		restated = restated || s.Deleted
	}
	if restated {
		for _, i := range pt.pending[e.VisitorID] {
			if id := pt.sz.SessionOf(e.VisitorID, pt.events[i].MessageID); id != "" {
				pt.events[i].SessionID = id
			}
		}
	}
	pt.stage(&e) // after deduplication: a duplicate must not move the visitor
	pt.identify(&e)
	if e.EventTime.After(pt.newest) {
		pt.newest = e.EventTime
	}
	pt.trigger(&e)
	pt.pending[e.VisitorID] = append(pt.pending[e.VisitorID], len(pt.events))
	pt.events = append(pt.events, e)
	pt.gauges.lag.Set(time.Since(e.ReceivedAt).Seconds())
}

func (pt *partition) allowance() time.Duration {
	if a := pt.p.cfg.Session.Allowance; a > 0 {
		return a
	}
	return sessionize.DefaultAllowance
}

// flush writes the batch (through the process's writer, together with the
// batches of the partitions flushing at the same time), then commits its
// offsets. Transient write errors are retried with backoff until the write
// succeeds, even when ctx ends meanwhile (see writer).
func (pt *partition) flush(ctx context.Context) error {
	if pt.next == 0 || (len(pt.events) == 0 && len(pt.sessions) == 0 && len(pt.transitions) == 0 && len(pt.identities) == 0 && pt.next <= pt.written && (pt.trig == nil || len(pt.trig.out) == 0)) {
		return nil
	}
	start := time.Now()
	// The token makes a retried write land once. It names this run of the
	// partition too: a replay after a crash may cut its batches at the same
	// offsets as before while an earlier replay batch has since written
	// newer versions of the same sessions, and that write must land.
	token := fmt.Sprintf("%s-%d-%d-%d-%d", pt.p.cfg.Topic, pt.id, pt.first, pt.next, pt.run0)
	// Session ids are final for this batch only now: an out-of-order event
	// may have moved earlier events of its visitor to another session. An
	// event whose session the sessionizer has since pruned as final keeps
	// the id it had then (see add): what it was pruned with cannot change.
	for i := range pt.events {
		if id := pt.sz.SessionOf(pt.events[i].VisitorID, pt.events[i].MessageID); id != "" {
			pt.events[i].SessionID = id
		}
	}
	var byMessage map[string]string // events' session ids, made when needed
	for i := range pt.transitions {
		tr := &pt.transitions[i]
		tr.SessionID = pt.sz.SessionOf(tr.VisitorID, tr.MessageID)
		if tr.SessionID == "" {
			if byMessage == nil {
				byMessage = make(map[string]string, len(pt.events))
				for _, e := range pt.events {
					if e.SessionID != "" {
						byMessage[e.VisitorID+"\x00"+e.MessageID] = e.SessionID
					}
				}
			}
			tr.SessionID = byMessage[tr.VisitorID+"\x00"+tr.MessageID]
		}
	}
	sessions := make([]pipeline.Session, 0, len(pt.sessions))
	for _, s := range pt.sessions {
		sessions = append(sessions, s)
	}
	b := &batch{
		partition: pt.id, token: token,
		events: pt.events, transitions: pt.transitions, identities: pt.identities,
		sessions: sessions, triggers: pt.batchTriggers(),
	}
	if err := pt.p.w.write(ctx, b); err != nil {
		return fmt.Errorf("write batch %s: %w", token, err)
	}
	pt.written = pt.next
	pt.p.m.sessions.Add(float64(len(sessions)))
	pt.p.m.flushEvents.Observe(float64(len(pt.events)))
	pt.events = pt.events[:0]
	clear(pt.pending)
	pt.transitions = pt.transitions[:0]
	pt.identities = pt.identities[:0]
	clear(pt.sessions)
	// Visitors idle for longer than the allowance before the watermark
	// can no longer change; drop their state.
	pt.expire()
	pt.flushedTriggers()
	// Commit only what a replay need not see again: the oldest offset that
	// still went into the state held (issue 5). After a crash or a
	// rebalance the next owner replays from there, rebuilds the same state
	// and rewrites rows that land as the same rows (events, transitions and
	// identities replace on their keys, sessions get newer versions of the
	// same content). The watermark before that offset goes with it
	// (offsets.go), so the replay decides lateness and expiry as this run
	// did.
	if c, w := pt.needed(); c > pt.committed {
		if err := pt.commit(c, w); err != nil {
			// The rows are written: the next flush commits again (needed
			// never goes back), and a replay from the older offset
			// meanwhile rewrites the same rows. A partition of a
			// generation that is over stops reading anyway.
			pt.p.log.Warn("commit failed", "partition", pt.id, "offset", c, "err", err)
		} else {
			pt.committed, pt.committedW = c, w
		}
	}
	pt.p.m.flush.Observe(time.Since(start).Seconds())
	st := pt.sz.Stats()
	pt.gauges.visitors.Set(float64(st.Visitors))
	pt.gauges.openSessions.Set(float64(st.Sessions))
	return nil
}
