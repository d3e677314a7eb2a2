package deadletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/clickhouse"
)

// commitTimeout bounds one offset commit; a commit that fails is logged
// and counted, and the rows it covered are written again after a restart.
const commitTimeout = 10 * time.Second

// Run copies dead letters from cfg.Topic to rejected_events until ctx is
// done, as a member of the consumer group cfg.GroupID (see the package
// doc). It returns nil after a clean stop, and an error for a bad Config
// or a ClickHouse it cannot open. When Kafka goes away for longer than the
// group's session (an outage), the reader fails: Run then writes what it
// holds, backs off and joins the group again, from the committed offsets,
// for as long as ctx lasts.
func Run(ctx context.Context, cfg Config) error {
	c, err := newConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.close()
	bo := backoff.NewExponentialBackOff(backoff.WithInitialInterval(500*time.Millisecond),
		backoff.WithMaxInterval(30*time.Second), backoff.WithMaxElapsedTime(0))
	for {
		started := time.Now()
		err := c.run(ctx)
		if err == nil || ctx.Err() != nil || errors.Is(err, errCrashed) {
			return err
		}
		if time.Since(started) > time.Minute {
			bo.Reset() // a generation that lasted: the next failure starts over
		}
		wait := bo.NextBackOff()
		c.m.rejoins.Inc()
		c.log.Warn("dead-letter consumer lost Kafka, joining again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// consumer is one run of Run.
type consumer struct {
	cfg       Config
	log       *slog.Logger
	m         *metrics
	w         *writer
	closeConn func() error // nil when the Conn is the caller's

	// crash, when set (tests only), is called after every successful write,
	// before its commit: true makes run return errCrashed at once, without
	// committing or writing anything else, as a process killed there would.
	crash func() bool
}

// errCrashed is returned by run when crash said so (tests only).
var errCrashed = errors.New("deadletter: simulated crash")

func newConsumer(ctx context.Context, cfg Config) (*consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("deadletter metrics: %w", err)
	}
	c := &consumer{cfg: cfg, log: cfg.Logger.With("component", "deadletter"), m: m}
	conn := cfg.Conn
	if conn == nil {
		if conn, err = clickhouse.Open(ctx, cfg.DSN); err != nil {
			return nil, fmt.Errorf("deadletter: %w", err)
		}
		c.closeConn = conn.Close
	}
	c.w = newWriter(conn, cfg.Database)
	return c, nil
}

func (c *consumer) close() {
	if c.closeConn != nil {
		if err := c.closeConn(); err != nil {
			c.log.Warn("close clickhouse", "err", err)
		}
	}
}

// batch is the dead letters read and not yet written.
type batch struct {
	msgs []kafkago.Message
	rows []row
	last map[int]kafkago.Message // the newest message per partition
}

// add appends m unless the batch holds its offset already (a partition
// read again from its committed offset after a rebalance); it reports
// whether m was added.
func (b *batch) add(m kafkago.Message, undecodable func()) bool {
	if l, ok := b.last[m.Partition]; ok && m.Offset <= l.Offset {
		return false
	}
	if b.last == nil {
		b.last = make(map[int]kafkago.Message)
	}
	r, ok := decode(m)
	if !ok {
		undecodable()
	}
	b.msgs, b.rows, b.last[m.Partition] = append(b.msgs, m), append(b.rows, r), m
	return true
}

func (b *batch) reset() {
	b.msgs, b.rows = b.msgs[:0], b.rows[:0]
	clear(b.last)
}

// run reads, batches, writes and commits until ctx is done (the one
// select of a batching sink: a message, a full batch, the flush timer).
func (c *consumer) run(ctx context.Context) error {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:               c.cfg.Brokers,
		GroupID:               c.cfg.GroupID,
		Topic:                 c.cfg.Topic,
		MinBytes:              1,
		MaxBytes:              8 << 20,
		MaxWait:               200 * time.Millisecond,
		StartOffset:           kafkago.FirstOffset,
		CommitInterval:        0, // CommitMessages commits synchronously
		HeartbeatInterval:     time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      500 * time.Millisecond,
		WatchPartitionChanges: true,
	})
	defer func() {
		if err := r.Close(); err != nil {
			c.log.Warn("close kafka reader", "err", err)
		}
	}()
	fctx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	msgs := make(chan kafkago.Message)
	fetchErr := make(chan error, 1)
	go func() {
		for {
			m, err := r.FetchMessage(fctx)
			if err != nil {
				fetchErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-fctx.Done():
				return
			}
		}
	}()
	c.log.Info("dead-letter consumer started", "group", c.cfg.GroupID, "topic", c.cfg.Topic, "brokers", c.cfg.Brokers)
	timer := time.NewTimer(c.cfg.FlushInterval)
	timer.Stop()
	defer timer.Stop()
	var b batch
	for {
		var err error
		select {
		case <-ctx.Done():
			return c.stop(ctx, r, &b)
		case ferr := <-fetchErr:
			if ctx.Err() != nil {
				return c.stop(ctx, r, &b)
			}
			if err := c.stop(ctx, r, &b); err != nil {
				return err
			}
			return fmt.Errorf("read %s: %w", c.cfg.Topic, ferr)
		case m := <-msgs:
			if !b.add(m, c.m.undecodable.Inc) {
				continue
			}
			if len(b.msgs) == 1 {
				timer.Reset(c.cfg.FlushInterval)
			}
			if len(b.msgs) < c.cfg.BatchSize {
				continue
			}
			timer.Stop()
			err = c.flush(ctx, r, &b)
		case <-timer.C:
			err = c.flush(ctx, r, &b)
		}
		switch {
		case err == nil:
		case errors.Is(err, errCrashed):
			return err
		case ctx.Err() != nil:
			return c.stop(ctx, r, &b)
		default:
			return err // not reached: flush retries until ctx is done
		}
	}
}

// stop writes and commits what the batch holds, within StopTimeout. What
// it cannot write is read again on the next start.
func (c *consumer) stop(ctx context.Context, r *kafkago.Reader, b *batch) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.StopTimeout)
	defer cancel()
	if err := c.flush(sctx, r, b); err != nil {
		if errors.Is(err, errCrashed) {
			return err
		}
		c.log.Warn("last batch not written; it is read again on the next start", "dead_letters", len(b.msgs), "err", err)
	}
	c.log.Info("dead-letter consumer stopped")
	return nil
}

// flush writes the batch, retrying every error with backoff until ctx is
// done, then commits its offsets. It returns ctx's error when it gave up,
// or errCrashed.
func (c *consumer) flush(ctx context.Context, r *kafkago.Reader, b *batch) error {
	if len(b.msgs) == 0 {
		return nil
	}
	start := time.Now()
	tok := token(c.cfg.Topic, b.msgs)
	if err := c.write(ctx, b.rows, tok); err != nil {
		return err
	}
	c.m.written.Add(float64(len(b.rows)))
	if c.crash != nil && c.crash() {
		return errCrashed
	}
	last := make([]kafkago.Message, 0, len(b.last))
	for _, m := range b.last {
		last = append(last, m)
	}
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	err := r.CommitMessages(cctx, last...)
	cancel()
	if err != nil {
		// The rows are written: a replay writes them again and FINAL
		// keeps one copy. Later commits cover these offsets too.
		c.m.commitErrors.Inc()
		c.log.Warn("commit dead-letter offsets", "token", tok, "err", err)
	}
	c.log.Debug("dead letters written", "token", tok, "dead_letters", len(b.rows))
	b.reset()
	c.m.flush.Observe(time.Since(start).Seconds())
	return nil
}

// write inserts rows with token, retrying with exponential backoff (at
// most MaxRetryInterval apart) until it succeeds or ctx is done. Permanent
// errors are retried too: they are logged as errors, since only an
// operator cures them (a missing table: run touchstream migrate).
func (c *consumer) write(ctx context.Context, rows []row, tok string) error {
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(c.cfg.MaxRetryInterval),
		backoff.WithMaxElapsedTime(0))
	op := func() error {
		err := c.w.write(ctx, rows, tok)
		if err != nil && ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		return err
	}
	notify := func(err error, wait time.Duration) {
		if permanent(err) {
			c.m.writeErrors.WithLabelValues(kindPermanent).Inc()
			c.log.Error("write dead letters failed; retrying until the table can be written", "token", tok, "retry_in", wait, "err", err)
			return
		}
		c.m.writeErrors.WithLabelValues(kindRetryable).Inc()
		c.log.Warn("write dead letters failed, retrying", "token", tok, "retry_in", wait, "err", err)
	}
	if err := backoff.RetryNotify(op, backoff.WithContext(bo, ctx), notify); err != nil {
		return fmt.Errorf("write %d dead letters: %w", len(rows), err)
	}
	return nil
}
